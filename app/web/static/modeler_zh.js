// The modeler in Chinese: bpmn-js's translate service, with the community translations of the diagram tools
// (bpmn-js-i18n's `zn`, loaded by modeler.js) and our own for the properties panel's groups and fields.
window.tongbanPanelZh = {
  'General': '常规', 'Name': '名称', 'ID': '标识', 'Documentation': '说明', 'Element documentation': '元素说明',
  'Process documentation': '流程说明', 'Type': '类型', 'Value': '值', 'Values': '值', 'Key': '键', 'Label': '标签',
  'Version tag': '版本标签', 'Executable': '可执行', 'Condition': '条件', 'Condition expression': '条件表达式',
  'Condition type': '条件类型', 'Expression': '表达式', 'Script': '脚本', 'Inline script': '内联脚本',
  'Script format': '脚本格式', 'Format': '格式', 'Result variable': '结果变量', 'Implementation': '实现方式',
  'Delegate expression': '委托表达式', 'Java class': 'Java 类', 'External': '外部任务', 'Topic': '主题',
  'Connector': '连接器', 'Asynchronous continuations': '异步继续', 'Before': '之前', 'After': '之后',
  'Exclusive': '排他', 'Job execution': '作业执行', 'Retry time cycle': '重试周期', 'Priority': '优先级',
  'Job priority': '作业优先级', 'Task priority': '任务优先级', 'Forms': '表单', 'Form': '表单',
  'Form key': '表单键', 'Custom form key': '自定义表单键', 'Form fields': '表单字段', 'Form field': '表单字段',
  'Generated task form': '生成的任务表单', 'Embedded or External Task Forms': '嵌入或外部任务表单',
  'Camunda Form (linked)': 'Camunda 表单（链接）', 'Camunda Form (embedded)': 'Camunda 表单（嵌入）',
  'External form reference': '外部表单引用', 'User assignment': '任务分配', 'Assignee': '办理人',
  'Candidate groups': '候选岗位', 'Candidate users': '候选人员', 'Due date': '到期时间', 'Follow up date': '跟进时间',
  'Inputs': '输入', 'Outputs': '输出', 'Input': '输入', 'Output': '输出', 'Local variable name': '局部变量名',
  'Process variable name': '流程变量名', 'Assignment type': '赋值类型', 'Map': '映射', 'List': '列表',
  'String or expression': '文本或表达式', 'Extension properties': '扩展属性', 'Execution listeners': '执行监听器',
  'Task listeners': '任务监听器', 'Listener type': '监听器类型', 'Event type': '事件类型', 'Timer': '定时器',
  'Timer definition type': '定时器类型', 'Timer definition': '定时器定义', 'Date': '日期', 'Duration': '时长',
  'Cycle': '周期', 'Message': '消息', 'Global message reference': '全局消息引用', 'Signal': '信号',
  'Global signal reference': '全局信号引用', 'Error': '错误', 'Global error reference': '全局错误引用',
  'Escalation': '升级', 'Called element': '被调用元素', 'Business key': '业务号', 'Binding': '绑定方式',
  'Version': '版本', 'Tenant ID': '租户标识', 'Multi-instance': '多实例', 'Loop cardinality': '循环次数',
  'Completion condition': '完成条件', 'Collection': '集合', 'Element variable': '元素变量',
  'Variable name': '变量名', 'Variable events': '变量事件', 'Start initiator': '发起人变量', 'Initiator': '发起人',
  'History cleanup': '历史清理', 'Time to live': '保存期限', 'Tasklist': '任务列表', 'Startable': '可启动',
  'Candidate starter': '可启动者', 'Candidate starter groups': '可启动岗位', 'Candidate starter users': '可启动人员',
  'Field injections': '字段注入', 'Headers': '头信息', 'Source': '来源', 'Target': '目标', 'Resource': '资源',
  'Create': '新建', 'Create new ...': '新建…', 'Delete item': '删除', 'Update': '更新', 'On': '开', 'Off': '关',
  'Learn more.': '了解更多。', '<none>': '（无）', '<empty>': '（空）', 'Toggle section': '展开/收起',
  'Toggle list item': '展开/收起', 'Create new list item': '新增一项', 'Decision reference': '决策引用',
  'Decision ref': '决策引用', 'Map decision result': '决策结果映射', 'Process ID': '流程标识',
  'Participant': '参与者', 'Lane': '泳道', 'Category': '分类', 'Message name': '消息名称', 'Signal name': '信号名称',
  'Error code': '错误代码', 'Error message': '错误消息', 'Error name': '错误名称', 'Data object': '数据对象',
  'Is collection': '是集合', 'Compensation': '补偿', 'Wait for completion': '等待完成', 'Activity': '活动',
  'Link': '链接', 'Link name': '链接名称', 'Conditional': '条件', 'Variable event': '变量事件',
  'Retries': '重试次数', 'Job worker': '作业执行器', 'Properties': '属性', 'Property': '属性',
  'User Task': '人工任务', 'User task': '人工任务', 'Service Task': '服务任务', 'Script Task': '脚本任务',
  'Business Rule Task': '业务规则任务', 'Task': '任务', 'Start Event': '开始事件', 'End Event': '结束事件',
  'Exclusive Gateway': '排他网关', 'Parallel Gateway': '并行网关', 'Inclusive Gateway': '包容网关',
  'Event-based Gateway': '事件网关', 'Boundary Event': '边界事件', 'Timer Boundary Event': '定时边界事件',
  'Intermediate Catch Event': '中间捕获事件', 'Sequence Flow': '顺序流', 'Call Activity': '调用活动',
  'Sub Process': '子流程', 'Process': '流程', 'Collaboration': '协作', 'Pool': '池', 'Text Annotation': '文本注释',
  'Select an element to edit its properties.': '请选择一个元素以编辑其属性。',
  'Multiple elements are selected. Select a single one to edit its properties.': '已选择多个元素，请只选择一个以编辑其属性。',
};

window.tongbanTranslate = function (dictionaries) {
  const words = Object.assign({}, ...dictionaries);
  return function translate(template, replacements) {
    replacements = replacements || {};
    const text = words[template] || template;
    return text.replace(/{([^}]+)}/g, (_, key) => (key in replacements ? replacements[key] : '{' + key + '}'));
  };
};
