// A definition drawn with bpmn-js's navigated viewer; a case's current tasks, path taken and waiting timers marked.
(async function () {
  const el = document.getElementById('canvas');
  const marks = JSON.parse(document.getElementById('marks').textContent || '{}');
  const viewer = new BpmnJS({container: el});
  window.tongbanViewer = viewer;
  const xml = await (await fetch(el.dataset.xml, {credentials: 'same-origin'})).text();
  try {
    await viewer.importXML(xml);
  } catch (err) {
    el.insertAdjacentHTML('beforeend', '<p class="error-box">流程图无法显示：' + err.message + '</p>');
    return;
  }
  const canvas = viewer.get('canvas');
  canvas.zoom('fit-viewport', 'auto');
  const registry = viewer.get('elementRegistry');
  const path = new Set(marks.path || []);
  (marks.path || []).forEach(id => registry.get(id) && canvas.addMarker(id, 'path-taken'));
  registry.filter(e => e.type === 'bpmn:SequenceFlow').forEach(flow => {
    const s = flow.businessObject.sourceRef, t = flow.businessObject.targetRef;
    if (s && t && path.has(s.id) && path.has(t.id)) canvas.addMarker(flow.id, 'path-taken');
  });
  (marks.current || []).forEach(id => registry.get(id) && canvas.addMarker(id, 'current-task'));
  const overlays = viewer.get('overlays');
  (marks.timers || []).forEach(t => {
    if (!registry.get(t.element_id)) return;
    canvas.addMarker(t.element_id, 'waiting-timer');
    const when = t.due_at ? new Date(t.due_at).toLocaleString('zh-CN', {timeZone: 'Asia/Shanghai', hour12: false}) : '';
    overlays.add(t.element_id, {position: {top: -26, left: -10}, html: '<div class="timer-badge">⏱ ' + when + '</div>'});
  });
  el.dataset.ready = 'true';
})();
