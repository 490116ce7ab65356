// bpmnlint's recommended rules on one diagram (read from stdin); prints {"issues": [{rule, id, message, category}]}.
// Run by app/web/processes.py with the app's node_modules (package.json); the same rules as tools/lint-diagrams.
'use strict';
const { Linter } = require('bpmnlint');
const NodeResolver = require('bpmnlint/lib/resolver/node-resolver');
const { BpmnModdle } = require('bpmn-moddle');

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const xml = Buffer.concat(chunks).toString('utf8');
  const moddle = new BpmnModdle();
  let root;
  try {
    ({ rootElement: root } = await moddle.fromXML(xml, 'bpmn:Definitions'));
  } catch (err) {
    process.stdout.write(JSON.stringify({ issues: [{ rule: 'parse', id: null, message: err.message, category: 'error' }] }));
    return;
  }
  const linter = new Linter({ config: { extends: 'bpmnlint:recommended' }, resolver: new NodeResolver() });
  const results = await linter.lint(root);
  const issues = [];
  for (const [rule, reports] of Object.entries(results)) {
    for (const r of reports) issues.push({ rule, id: r.id || null, message: r.message, category: r.category || 'warn' });
  }
  process.stdout.write(JSON.stringify({ issues }));
}
main().catch((err) => { process.stderr.write(String(err && err.stack || err)); process.exit(1); });
