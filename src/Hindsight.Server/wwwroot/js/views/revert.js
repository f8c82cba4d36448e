// Revert: choose what (a change, a transaction, a request), see the plan (statements, conflicts, notes, SQL)
// from a dry run, then apply it only after an explicit confirmation. Applying is for admin keys: a read key
// sees the plan only, and the server refuses it anyway (403), which is shown as it comes.
import { api } from '../api.js';
import { append, el, field, heading, note, opBadge, problemBox, replace, select } from '../render.js';
import { go, href } from '../router.js';
import { isAdmin, session } from '../session.js';

const KINDS = [['change', 'one change (its id)'], ['tx', 'one transaction (its xid)'], ['context', 'every change with a context value (a request, a user…)']];

/** The selection of the route params, or null when there is none. */
function selectionOf(params) {
  if (params.get('change')) return { kind: 'change', value: params.get('change') };
  if (params.get('tx')) return { kind: 'tx', value: params.get('tx') };
  if (params.get('ctxkey') && params.get('ctxval')) return { kind: 'context', key: params.get('ctxkey'), value: params.get('ctxval') };
  return null;
}

/** The API's body for a selection; throws an Error a person can act on. */
function bodyOf(selection) {
  const whole = (text, what) => {
    if (!/^\d{1,18}$/.test(String(text).trim())) throw new Error(`${what} must be a whole number`);
    return Number(String(text).trim());
  };
  if (selection.kind === 'change') return { change: whole(selection.value, 'The change id') };
  if (selection.kind === 'tx') return { transaction: whole(selection.value, 'The transaction id') };
  return { filter: { context: { [selection.key]: selection.value } } };
}

function describe(selection) {
  if (selection.kind === 'change') return `change ${selection.value}`;
  if (selection.kind === 'tx') return `transaction ${selection.value}`;
  return `every change whose context has ${selection.key} = ${selection.value}`;
}

/** Route params: change, tx, or ctxkey and ctxval. */
export async function render(root, params) {
  const selection = selectionOf(params);
  const kind = select('kind', KINDS, selection?.kind || 'change');
  const value = el('input', { name: 'value', autocomplete: 'off', value: selection && selection.kind !== 'context' ? selection.value : '' });
  const ctxKey = el('input', { name: 'ctxkey', autocomplete: 'off', placeholder: 'requestId', value: selection?.kind === 'context' ? selection.key : 'requestId' });
  const ctxValue = el('input', { name: 'ctxval', autocomplete: 'off', placeholder: 'r-17', value: selection?.kind === 'context' ? selection.value : '' });
  const idField = field('Id', value);
  const keyField = field('Context key', ctxKey);
  const valueField = field('Context value', ctxValue);
  const showFields = () => {
    const byContext = kind.value === 'context';
    idField.hidden = byContext;
    keyField.hidden = !byContext;
    valueField.hidden = !byContext;
  };
  kind.addEventListener('change', showFields);
  showFields();
  const form = el('form', { class: 'filters' },
    el('div', { class: 'filter-grid' }, field('Revert', kind), idField, keyField, valueField),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary', text: 'Show plan' })));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (kind.value === 'context') go('revert', { ctxkey: ctxKey.value, ctxval: ctxValue.value });
    else go('revert', { [kind.value]: value.value.trim() });
  });

  const results = el('div', { class: 'results' });
  replace(root, heading('Revert'), form, results);
  if (!selection) {
    results.append(note('Choose what to revert. The plan comes first (a dry run that changes nothing); applying it needs an explicit confirmation.'));
    return;
  }
  let body;
  try {
    body = bodyOf(selection);
  } catch (e) {
    replace(results, problemBox({ title: 'Check the selection', detail: e.message }));
    return;
  }
  results.append(el('p', { class: 'muted', text: 'Planning…' }));
  let plan;
  try {
    plan = await api('/revert/plan', { method: 'POST', body });
  } catch (e) {
    replace(results, e.status === 404 ? note(e.detail, 'warning') : problemBox(e));
    return;
  }
  replace(results, planView(plan, selection), applySection(plan, selection, body));
}

/** The plan: a summary, the statements, conflicts, notes and the whole transaction's SQL. */
function planView(plan, selection) {
  const n = plan.statements.length;
  const reverted = plan.conflicts.filter((c) => c.already_reverted);
  const others = plan.conflicts.filter((c) => !c.already_reverted);
  return el('section', { class: 'plan', 'aria-labelledby': 'plan-title' },
    el('h2', { id: 'plan-title', text: `Plan: revert ${describe(selection)}` }),
    el('p', { class: 'page-status', role: 'status', text: `${n} statement${n === 1 ? '' : 's'} in one transaction; ${others.length} conflict${others.length === 1 ? '' : 's'}` +
      (reverted.length > 0 ? `; ${reverted.length} row${reverted.length === 1 ? '' : 's'} already reverted.` : '.') }),
    el('div', { class: 'table-wrap' },
      el('table', { class: 'statements' },
        el('thead', {}, el('tr', {}, ['#', 'action', 'table', 'key', 'undoes'].map((c) => el('th', { scope: 'col', text: c })))),
        el('tbody', {}, plan.statements.map((s, i) => el('tr', {},
          el('td', { text: String(i + 1) }),
          el('td', {}, el('span', { class: 'badge', text: s.action })),
          el('td', { text: s.table }),
          el('td', { text: s.primary_key }),
          el('td', {}, s.change ? [`change ${s.change} `, opBadge(s.operation)] : 'rollback')))))),
    reverted.length > 0
      ? el('div', { class: 'already-reverted' }, el('h3', { text: 'Already reverted' }), conflictList(reverted))
      : null,
    others.length > 0
      ? el('div', { class: 'conflicts' }, el('h3', { text: 'Conflicts: rows changed since by something else' }), conflictList(others))
      : null,
    plan.notes.length > 0 ? el('div', {}, el('h3', { text: 'Notes' }), el('ul', { class: 'notes' }, plan.notes.map((t) => el('li', { text: t })))) : null,
    el('details', { class: 'sql', open: true }, el('summary', { text: 'SQL of the transaction' }), el('pre', { class: 'code', text: plan.sql })));
}

function conflictList(conflicts) {
  return el('ul', { class: 'conflict-list' }, conflicts.map((c) => el('li', {},
    `${c.table} key ${c.primary_key}: ${c.reason}`,
    c.later_change ? [' (', el('a', { href: href('changes', { table: c.table, key: c.primary_key }), text: `change ${c.later_change}` }), ')'] : null)));
}

/** Applying: admin keys only, after a confirmation step; the result or the server's refusal is shown. */
function applySection(plan, selection, body) {
  const section = el('section', { class: 'apply', 'aria-labelledby': 'apply-title' }, el('h2', { id: 'apply-title', text: 'Apply' }));
  if (!isAdmin()) {
    section.append(note(`This key (${session.name}, scope ${session.scope}) may plan reverts but not apply them: applying needs a key with scope admin.`));
    return section;
  }
  if (plan.statements.length === 0) {
    section.append(note('Nothing to apply.'));
    return section;
  }
  // A revert of something already reverted would write the old values back over that revert: there is nothing to
  // force, only the later revert to revert if that is what is wanted.
  const reverted = plan.conflicts.filter((c) => c.already_reverted);
  if (reverted.length > 0) {
    section.append(note(`Already reverted by change ${reverted.map((c) => c.later_change).filter((v, i, a) => a.indexOf(v) === i).join(', ')}: ` +
      'nothing to apply. To undo that revert, revert the later change.'));
    return section;
  }
  const reason = el('input', { name: 'reason', autocomplete: 'off', placeholder: 'ticket 42', maxLength: 500 });
  const force = el('input', { type: 'checkbox', name: 'force', id: 'revert-force' });
  const forceField = plan.conflicts.length > 0
    ? el('div', { class: 'field checkbox' }, force, el('label', { htmlFor: force.id, text: `Overwrite the ${plan.conflicts.length} conflicting row${plan.conflicts.length === 1 ? '' : 's'} (force)` }))
    : null;
  const outcome = el('div', { class: 'outcome', 'aria-live': 'polite' });
  const start = el('button', { type: 'button', class: 'danger', text: 'Revert…' });
  const confirm = el('div', { class: 'confirm', role: 'group', 'aria-labelledby': 'confirm-text', hidden: true },
    el('p', { id: 'confirm-text' }),
    el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'danger', text: 'Confirm revert', onclick: () => apply() }),
      el('button', { type: 'button', text: 'Cancel', onclick: () => { confirm.hidden = true; start.hidden = false; start.focus(); } })));
  start.addEventListener('click', () => {
    const n = plan.statements.length;
    const refused = plan.conflicts.length > 0 && !force.checked;
    confirm.querySelector('#confirm-text').textContent =
      `Revert ${describe(selection)}: ${n} statement${n === 1 ? '' : 's'} will run in one transaction on the tracked database.` +
      (refused ? ' Rows conflict and force is not ticked: the server will refuse and change nothing.' : '') + ' Continue?';
    confirm.hidden = false;
    start.hidden = true;
    confirm.querySelector('button').focus();
  });

  async function apply() {
    for (const b of confirm.querySelectorAll('button')) b.disabled = true;
    replace(outcome, el('p', { class: 'muted', text: 'Applying…' }));
    const request = { ...body, force: force.checked };
    if (reason.value.trim()) request.context = { reason: reason.value.trim() };
    try {
      const result = await api('/revert', { method: 'POST', body: request });
      confirm.hidden = true;
      replace(outcome, el('div', { class: 'alert alert-success', role: 'status' },
        el('strong', { text: 'Reverted. ' }),
        `${result.statements.length} statement${result.statements.length === 1 ? '' : 's'} applied in one transaction (rows affected: ${result.rows_affected.join(', ') || 'none'}). `,
        el('a', { href: href('changes', { ctxkey: 'apiKey', ctxval: session.name }), text: 'Reverts made with this key' })));
    } catch (e) {
      confirm.hidden = true;
      start.hidden = false;
      for (const b of confirm.querySelectorAll('button')) b.disabled = false;
      replace(outcome, problemBox(e), Array.isArray(e.problem?.conflicts) && e.problem.conflicts.length > 0 ? conflictList(e.problem.conflicts) : null);
    }
  }

  append(section, [field('Reason (kept in the revert\'s context)', reason), forceField, el('div', { class: 'actions' }, start), confirm, outcome]);
  return section;
}
