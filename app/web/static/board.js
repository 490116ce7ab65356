// The board's charts (Apache ECharts, served from node_modules by the app itself).
(function () {
  const data = JSON.parse(document.getElementById('charts-data').textContent);
  const font = {fontFamily: '"Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", sans-serif'};
  function chart(id, option) {
    const el = document.getElementById(id);
    if (!el || !window.echarts) return;
    const c = echarts.init(el, null, {renderer: 'canvas'});
    c.setOption(Object.assign({textStyle: font, animation: false, grid: {left: 40, right: 40, top: 30, bottom: 40}}, option));
    window.addEventListener('resize', () => c.resize());
  }
  chart('chart-daily', {
    tooltip: {trigger: 'axis'}, legend: {data: ['收件', '办结']},
    xAxis: {type: 'category', data: data.daily.dates.map(d => d.slice(5))}, yAxis: {type: 'value', minInterval: 1},
    series: [{name: '收件', type: 'bar', data: data.daily.received, itemStyle: {color: '#2f6fb3'}},
             {name: '办结', type: 'line', data: data.daily.completed, itemStyle: {color: '#2e9d5b'}}]
  });
  chart('chart-departments', {
    tooltip: {trigger: 'axis'}, legend: {data: ['收件', '办结', '按时办结率']},
    xAxis: {type: 'category', data: data.departments.names, axisLabel: {interval: 0, rotate: 30, fontSize: 10}},
    yAxis: [{type: 'value', minInterval: 1}, {type: 'value', max: 100, axisLabel: {formatter: '{value}%'}}],
    grid: {left: 40, right: 50, top: 30, bottom: 70},
    series: [{name: '收件', type: 'bar', data: data.departments.received, itemStyle: {color: '#2f6fb3'}},
             {name: '办结', type: 'bar', data: data.departments.completed, itemStyle: {color: '#2e9d5b'}},
             {name: '按时办结率', type: 'line', yAxisIndex: 1, data: data.departments.on_time_rate, itemStyle: {color: '#d98c1f'}}]
  });
  chart('chart-windows', {
    tooltip: {trigger: 'axis'},
    xAxis: {type: 'category', data: data.windows.names, axisLabel: {interval: 0, fontSize: 10}}, yAxis: {type: 'value'},
    series: [{type: 'bar', name: '日均收件', data: data.windows.traffic.map((v, i) => ({value: v, itemStyle: {color: data.windows.merge[i] ? '#c0392b' : '#2f6fb3'}})),
              markLine: {symbol: 'none', data: [{yAxis: data.windows.merge_below, name: '合并线'}], lineStyle: {color: '#c0392b', type: 'dashed'}}}]
  });
  if (data.clerks) {
    chart('chart-clerks', {
      tooltip: {trigger: 'axis'}, legend: {data: ['收件', '受理', '办理环节', '按时办结率']},
      xAxis: {type: 'category', data: data.clerks.names, axisLabel: {interval: 0, rotate: 30, fontSize: 10}},
      yAxis: [{type: 'value', minInterval: 1}, {type: 'value', max: 100, axisLabel: {formatter: '{value}%'}}],
      grid: {left: 40, right: 50, top: 40, bottom: 60},
      series: [{name: '收件', type: 'bar', data: data.clerks.received, itemStyle: {color: '#2f6fb3'}},
               {name: '受理', type: 'bar', data: data.clerks.accepted, itemStyle: {color: '#7aa7d6'}},
               {name: '办理环节', type: 'bar', data: data.clerks.steps, itemStyle: {color: '#2e9d5b'}},
               {name: '按时办结率', type: 'line', yAxisIndex: 1, data: data.clerks.on_time_rate, itemStyle: {color: '#d98c1f'}}]
    });
  }
})();
