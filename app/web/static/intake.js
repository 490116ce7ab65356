// 窗口收件: the applicant form follows the applicant's kind (ID types, legal representative), shows the agent's
// fields when someone applies on the applicant's behalf, and offers earlier applicants from the 申请人库 as the
// clerk types a name or an ID number (masked values are never filled in).
document.querySelectorAll('form[data-applicant-form]').forEach((form) => {
  const kind = form.querySelector('[data-applicant-kind]');
  const idType = form.querySelector('select[name="applicant.id_type"]');
  const agentBox = form.querySelector('[data-has-agent]');
  const agentFields = form.querySelector('[data-agent-fields]');
  const library = form.querySelector('[data-testid=library]');

  function followKind() {
    const value = kind.value;
    form.querySelectorAll('.org-only').forEach((el) => { el.hidden = value !== 'organisation'; });
    idType.querySelectorAll('optgroup').forEach((group) => {
      const other = group.dataset.kind !== value;
      group.hidden = other;
      group.disabled = other;
    });
    if (idType.selectedOptions[0]?.parentElement?.disabled) idType.value = '';
  }
  kind.addEventListener('change', followKind);
  followKind();
  agentBox.addEventListener('change', () => { agentFields.hidden = !agentBox.checked; });

  const set = (name, value) => {
    const input = form.querySelector(`[name="${name}"]`);
    if (!input || value === null || value === undefined || String(value).includes('*')) return;
    input.value = value;
  };
  function fill(a) {
    kind.value = a.kind || kind.value;
    followKind();
    for (const key of ['name', 'id_type', 'id_number', 'phone', 'address', 'legal_representative']) set(`applicant.${key}`, a[key]);
    if (a.agent) {
      agentBox.checked = true;
      agentFields.hidden = false;
      for (const key of ['name', 'id_type', 'id_number', 'phone']) set(`applicant.agent.${key}`, a.agent[key]);
    }
    library.hidden = true;
  }

  if (!library) return;
  let timer = null;
  let asked = '';
  function ask(text) {
    text = text.trim();
    if (text.length < 2 || text === asked) return;
    asked = text;
    fetch(`${form.dataset.library}?q=${encodeURIComponent(text)}`, { headers: { Accept: 'application/json' } })
      .then((r) => (r.ok ? r.json() : { items: [] }))
      .then(({ items }) => {
        const list = library.querySelector('ul');
        list.replaceChildren();
        for (const a of items) {
          const li = document.createElement('li');
          const button = document.createElement('button');
          button.type = 'button';
          button.dataset.action = 'use-applicant';
          button.textContent = `${a.name}　${a.id_number || ''}　${a.phone || ''}`;
          const note = document.createElement('small');
          note.className = 'muted';
          note.textContent = ` 最近办件 ${a.last_case}（${a.last_received}）${a.masked ? '，证件信息已屏蔽，请核对证件后填写' : ''}`;
          button.addEventListener('click', () => fill(a));
          li.append(button, note);
          list.append(li);
        }
        library.hidden = items.length === 0;
      })
      .catch(() => { library.hidden = true; });
  }
  for (const name of ['applicant.name', 'applicant.id_number']) {
    const input = form.querySelector(`[name="${name}"]`);
    input.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => ask(input.value), 250);
    });
  }
});
