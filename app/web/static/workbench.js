// Small helpers shared by the pages. Forms post with their CSRF token field; fetch() calls send X-CSRFToken.
window.tongban = {
  csrf: () => document.querySelector('meta[name="csrf-token"]').content,
};

// A button with data-toggle shows or hides the element of that id (the board's close-a-warning rows).
document.addEventListener('click', (event) => {
  const button = event.target.closest('[data-toggle]');
  if (!button) return;
  const target = document.getElementById(button.dataset.toggle);
  if (!target) return;
  target.hidden = !target.hidden;
  button.setAttribute('aria-expanded', String(!target.hidden));
  if (!target.hidden) target.querySelector('textarea, input')?.focus();
});

// A file input shows its chosen file's name in Chinese words of our own (the browser's button says it in its own).
document.addEventListener('change', (event) => {
  const input = event.target.closest('input[type=file][data-picked]');
  if (!input) return;
  const out = document.getElementById(input.dataset.picked);
  if (out) out.textContent = input.files.length ? Array.from(input.files, (f) => f.name).join('、') : '未选择文件';
});
