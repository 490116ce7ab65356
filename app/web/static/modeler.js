// The analysts' modeler: bpmn-js modeler + properties panel with the Camunda extensions; validate (the server's
// dry run and bpmnlint's recommended rules, run on the server) and deploy a new version.
(async function () {
  const el = document.getElementById('canvas');
  const results = document.getElementById('results');
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const camunda = await (await fetch(el.dataset.camunda)).json();
  const P = window.BpmnJSPropertiesPanel;
  // in Chinese: bpmn-js-i18n's translations of the diagram tools, ours of the properties panel (modeler_zh.js)
  let tools = {};
  try { tools = (await import(el.dataset.i18n)).default; } catch (e) { tools = {}; }
  const translate = window.tongbanTranslate([tools, window.tongbanPanelZh]);
  const modeler = new BpmnJS({
    container: el,
    propertiesPanel: {parent: '#properties'},
    additionalModules: [P.BpmnPropertiesPanelModule, P.BpmnPropertiesProviderModule, P.CamundaPlatformPropertiesProviderModule,
                        {translate: ['value', translate]}],
    moddleExtensions: {camunda: camunda}
  });
  window.tongbanModeler = modeler;
  const xml = await (await fetch(el.dataset.xml, {credentials: 'same-origin'})).text();
  await modeler.importXML(xml);
  modeler.get('canvas').zoom('fit-viewport', 'auto');
  el.dataset.ready = 'true';

  const esc = s => String(s == null ? '' : s).replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));
  const list = (items, cls) => items.length ? '<ul class="' + cls + '">' + items.map(i => '<li>' + i + '</li>').join('') + '</ul>' : '';
  async function post(url, body) {
    const r = await fetch(url, {method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRFToken': csrf},
      body: JSON.stringify(body)});
    return {status: r.status, body: await r.json().catch(() => ({message: r.statusText}))};
  }
  function problems(body) {
    const out = [];
    (body.files || []).forEach(f => (f.errors || []).forEach(e => out.push(esc((e.element ? e.element + '：' : '') + e.message + (e.line ? '（第 ' + e.line + ' 行）' : '')))));
    ((body.details || {}).problems || []).forEach(e => out.push(esc((e.element ? e.element + '：' : '') + e.message)));
    if (!out.length && body.message && body.code) out.push(esc(body.message));
    return out;
  }
  document.getElementById('check').addEventListener('click', async () => {
    results.innerHTML = '<p class="muted">校验中…</p>';
    const {xml} = await modeler.saveXML({format: true});
    const {status, body} = await post(el.dataset.check, {xml});
    if (status !== 200) { results.innerHTML = '<div class="error-box">' + list(problems(body), 'problems') + '</div>'; return; }
    const errs = problems(body.dry_run);
    const warns = (body.dry_run.warnings || []).map(w => esc((w.element ? w.element + '：' : '') + w.message));
    const lint = body.lint || {issues: []};
    const lints = lint.issues.map(i => esc(i.rule + (i.id ? ' · ' + i.id : '') + '：' + i.message));
    const canvas = modeler.get('canvas');
    lint.issues.forEach(i => { try { i.id && canvas.addMarker(i.id, 'lint-issue'); } catch (e) { /* gone */ } });
    const versions = (body.dry_run.files || []).flatMap(f => f.definitions || []).map(d => 'v' + d.version).join('、');
    results.innerHTML = '<h2 data-testid="check-result">' + (errs.length ? '服务器校验未通过' : '服务器校验通过' + (versions ? '（将成为 ' + esc(versions) + '）' : '')) + '</h2>'
      + list(errs, 'problems') + (warns.length ? '<h3>警告</h3>' + list(warns, 'warnings') : '')
      + '<h3>bpmnlint（recommended）' + (lint.available === false ? '：' + esc(lint.note) : (lints.length ? '：' + lints.length + ' 条' : '：无问题')) + '</h3>' + list(lints, 'lint');
  });
  document.getElementById('deploy').addEventListener('click', async () => {
    results.innerHTML = '<p class="muted">部署中…</p>';
    const {xml} = await modeler.saveXML({format: true});
    const changelog = document.getElementById('changelog').value;
    const {status, body} = await post(el.dataset.deploy, {xml, changelog});
    if (status === 201) {
      results.innerHTML = '<h2 class="ok" data-testid="deploy-result">已部署为 v' + esc(body.version) + '</h2><p><a href="' + el.dataset.xml.replace(/\/xml.*$/, '') + '?version=' + esc(body.version) + '">查看新版本</a></p>';
    } else if (status === 200) {
      results.innerHTML = '<h2 data-testid="deploy-result">内容与当前版本相同，未产生新版本（v' + esc(body.version) + '）</h2>';
    } else {
      results.innerHTML = '<div class="error-box" data-testid="deploy-result"><b>部署被拒绝：</b>' + esc(body.message) + list(problems(body), 'problems') + '</div>';
    }
  });
})();
