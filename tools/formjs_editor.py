"""Make a Camunda Form (`.form`) with form-js's own editor, as Camunda Modeler's form editor does.

    python tools/formjs_editor.py RECIPE.json OUT.form

The recipe lists the form's id and its components (the attributes a person sets in the editor's properties
panel). Each is added through the editor's modeling service in a headless chromium (`/usr/bin/chromium`, or
TONGBAN_CHROMIUM), and the editor's own export (`saveSchema`) is written out: the file is what the editor makes.
The editor comes from node_modules/@bpmn-io/form-js (package.json).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EDITOR = ROOT / "node_modules" / "@bpmn-io" / "form-js" / "dist" / "form-editor.umd.js"
CHROMIUM = os.environ.get("TONGBAN_CHROMIUM", "/usr/bin/chromium")

BUILD = """
async (recipe) => {
  const container = document.getElementById('editor');
  const editor = new FormEditor.FormEditor({container, exporter: {name: 'form-js editor (Tongban tools/formjs_editor.py)',
                                                                  version: '1'}});
  await editor.importSchema({type: 'default', id: recipe.id, components: []});
  const modeling = editor.get('modeling');
  const registry = editor.get('formFieldRegistry');
  const root = registry.getAll().find(field => field.type === 'default');
  recipe.components.forEach((attrs, index) => modeling.addFormField({...attrs}, root, index));
  return editor.saveSchema();
}
"""


def make(recipe: dict) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.set_content('<!doctype html><meta charset="utf-8"><div id="editor"></div>')
            page.add_script_tag(path=str(EDITOR))
            return page.evaluate(BUILD, recipe)
        finally:
            browser.close()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    recipe = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    form = make(recipe)
    Path(argv[1]).write_text(json.dumps(form, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"{argv[1]}: {len(form.get('components', []))} components, schemaVersion {form.get('schemaVersion')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
