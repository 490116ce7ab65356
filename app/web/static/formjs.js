// A task whose form is a Camunda Form (form-js): rendered by form-js's own viewer, with the data the case already
// holds; on submit, form-js checks its rules in the page, and what it submits goes to the server as JSON (one
// field), where the same rules are checked again against the form's JSON Schema.
(() => {
  const host = document.getElementById('form-js');
  if (!host || !window.FormViewer) return;
  const schema = JSON.parse(document.getElementById('form-js-schema').textContent);
  const data = JSON.parse(document.getElementById('form-js-data').textContent || '{}');
  const page = document.querySelector('form.form-js-task');
  const field = page.querySelector('input[name="form_js_data"]');
  const form = new FormViewer.Form({container: host});
  const ready = form.importSchema(schema, data).then(() => host.classList.add('form-js-ready'))
    .catch((error) => {
      host.textContent = '表单无法显示：' + (error && error.message ? error.message : error);
    });
  page.addEventListener('submit', (event) => {
    const button = event.submitter;
    if (button && button.hasAttribute('formaction')) return;  // claim / unclaim: no form data
    event.preventDefault();
    ready.then(() => {
      const result = form.submit();
      if (Object.keys(result.errors || {}).length) {
        host.querySelector('.fjs-has-errors input, .fjs-has-errors textarea, .fjs-has-errors select')?.focus();
        return;
      }
      field.value = JSON.stringify(result.data);
      page.submit();
    });
  });
})();
