// One row's history as a timeline: every version, newest first, with what changed, who and from where, and between
// them the schema changes of its table (a column renamed, added, dropped…).
import { api } from '../api.js';
import { el, field, heading, note, opBadge, problemBox, replace } from '../render.js';
import { go, href } from '../router.js';
import { diffTable } from '../diff.js';
import { objectTable } from '../values.js';
import { timeNode, who, via } from '../format.js';
import { changeActions } from '../changelist.js';
import { verificationBadge } from '../chain.js';
import { interleave, schemaChangeItem } from '../schemachanges.js';

/** Versions asked for: one row rarely has more; when it does, the trail pages through them all. */
const LIMIT = 200;

/** Route params: table, key. */
export async function render(root, params) {
  const table = params.get('table') || '';
  const key = params.get('key') || '';
  const form = el('form', { class: 'filters inline', role: 'search' },
    el('div', { class: 'filter-grid' },
      field('Table', el('input', { name: 'table', value: table, placeholder: 'orders', autocomplete: 'off' })),
      field('Primary key', el('input', { name: 'key', value: key, placeholder: '42', autocomplete: 'off' }))),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary', text: 'Show history' })));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    go('record', { table: form.elements.table.value, key: form.elements.key.value });
  });
  const results = el('div', { class: 'results' });
  replace(root, heading(table && key ? `History of ${table} ${key}` : 'Row history'), form, results);
  if (!table || !key) {
    results.append(note('Name a table and a primary key, or open a row from the audit trail.'));
    return;
  }
  results.append(el('p', { class: 'muted', text: 'Loading…' }));
  let history;
  try {
    history = await api('/history', { params: { table, key, limit: LIMIT } });
  } catch (e) {
    replace(results, problemBox(e));
    return;
  }
  const versions = history.versions;
  const schemaChanges = history.schema_changes || [];
  const schemaNote = schemaChanges.length === 0 ? ''
    : ` and ${schemaChanges.length} schema change${schemaChanges.length === 1 ? '' : 's'} of the table`;
  replace(results,
    el('p', { class: 'page-status', role: 'status' },
      `${versions.length} version${versions.length === 1 ? '' : 's'}${schemaNote}, newest first. `,
      el('a', { href: href('changes', { table, key }), text: 'These changes in the audit trail' }), ' · ',
      el('a', { href: href('as-of', { table, key }), text: 'This row as of a moment' })),
    history.truncated ? note(`Only the newest ${LIMIT} versions are shown; the audit trail pages through all of them.`) : null,
    history.schema_changes_truncated ? note('Only the newest schema changes of the table are shown.') : null,
    el('ol', { class: 'timeline' }, interleave(versions, schemaChanges).map((item) =>
      (item.version ? version(item.version) : schemaChangeItem(item.schemaChange)))));
}

function version(v) {
  const c = v.change;
  const by = who(c.context);
  const from = via(c.context);
  return el('li', { class: `timeline-item op-${c.operation.toLowerCase()}`, dataset: { changeId: String(c.id) } },
    el('div', { class: 'timeline-head' },
      timeNode(c.committed_at), ' ', opBadge(c.operation),
      by ? el('span', { class: 'timeline-who', text: by }) : null,
      from ? el('span', { class: 'muted', text: from }) : null,
      el('span', { class: 'muted small', text: `change ${c.id} · transaction ${c.transaction_id}` }),
      verificationBadge(c, { lazy: true })),
    diffTable(c),
    el('details', { class: 'timeline-context' }, el('summary', { text: 'Context' }), objectTable(c.context)),
    changeActions(c, { history: false }));
}
