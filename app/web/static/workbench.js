// Small helpers shared by the pages. Forms post with their CSRF token field; fetch() calls send X-CSRFToken.
window.tongban = {
  csrf: () => document.querySelector('meta[name="csrf-token"]').content,
};
