// A list of changes as a table: one line each (when, where, who, what), and on demand its details:
// the before/after diff, the context, and links to the row's history, as-of and revert.
import { el, opBadge } from './render.js';
import { href } from './router.js';
import { diffTable, summary } from './diff.js';
import { objectTable } from './values.js';
import { qualified, tableLabel, timeNode, who, via } from './format.js';
import { isAdmin } from './session.js';
import { isRawNumber } from './api.js';
import { verificationBadge } from './chain.js';

const COLUMNS = ['Time (UTC)', 'Table', 'Key', 'Operation', 'Who', 'Via', 'What changed', ''];

/** An LSN held as a number, as PostgreSQL writes it (16/B374D848). */
export function lsn(n) {
  const v = BigInt(isRawNumber(n) ? n.rawJSON : n);
  return `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xFFFFFFFFn).toString(16).toUpperCase()}`;
}

/** The link to a row's history page. */
export function recordHref(change) {
  return href('record', { table: qualified(change.schema, change.table), key: change.primary_key });
}

/** Links from one change to what can be done with it (history: whether to link the row's history page). */
export function changeActions(change, { history = true } = {}) {
  const table = qualified(change.schema, change.table);
  const links = [];
  if (change.primary_key !== null && change.primary_key !== undefined) {
    if (history) links.push(el('a', { href: recordHref(change), text: 'Row history' }));
    links.push(el('a', { href: href('as-of', { table, key: change.primary_key, tx: change.transaction_id }), text: 'Row as of this transaction' }));
  }
  links.push(el('a', { href: href('changes', { tx: change.transaction_id }), text: 'Changes of this transaction' }));
  if (isAdmin()) {
    links.push(el('a', { class: 'danger-link', href: href('revert', { change: change.id }), text: 'Revert this change…' }));
    links.push(el('a', { class: 'danger-link', href: href('revert', { tx: change.transaction_id }), text: 'Revert its transaction…' }));
    const request = change.context?.requestId;
    if (typeof request === 'string' && request !== '') {
      links.push(el('a', { class: 'danger-link', href: href('revert', { ctxkey: 'requestId', ctxval: request }), text: 'Revert its request…' }));
    }
  }
  return el('nav', { class: 'change-actions', 'aria-label': 'Actions on this change' }, links);
}

/** The details of one change: diff, context, identifiers, its state against the chain, actions. */
export function changeDetails(change) {
  return el('div', { class: 'change-details' },
    el('div', { class: 'details-grid' },
      el('section', { class: 'details-diff' }, el('h3', { text: 'Before and after' }), diffTable(change)),
      el('section', { class: 'details-side' },
        el('h3', { text: 'Context' }), objectTable(change.context),
        el('h3', { text: 'Change' }),
        objectTable({
          id: change.id, transaction: change.transaction_id, 'commit LSN': lsn(change.commit_lsn), ordinal: change.ordinal,
          committed: change.committed_at, stored: change.created_at, source: change.source, database: change.database,
        }),
        el('h3', { text: 'Integrity' }),
        el('p', { class: 'integrity' }, verificationBadge(change)))),
    changeActions(change));
}

/** The two table rows of a change: its line, and its (hidden) details. */
export function changeRows(change) {
  const detailId = `change-${change.id}-details`;
  const details = el('tr', { class: 'change-details-row', id: detailId, hidden: true });
  const cell = el('td', { colSpan: COLUMNS.length });
  details.append(cell);
  const toggle = el('button', { type: 'button', class: 'details-toggle', 'aria-expanded': 'false', 'aria-controls': detailId, text: 'Details' });
  toggle.addEventListener('click', () => {
    const open = details.hidden;
    if (open && !cell.firstChild) cell.append(changeDetails(change)); // built when first opened
    details.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    toggle.textContent = open ? 'Hide' : 'Details';
  });
  const hasKey = change.primary_key !== null && change.primary_key !== undefined;
  const line = el('tr', { class: 'change-row', dataset: { changeId: String(change.id) } },
    el('td', { class: 'nowrap' }, timeNode(change.committed_at)),
    el('td', { class: 'cell-table' }, breakableName(tableLabel(change))),
    el('td', { class: 'cell-key' }, hasKey ? el('a', { href: recordHref(change), text: change.primary_key }) : '—'),
    el('td', {}, opBadge(change.operation)),
    el('td', { class: 'cell-who', text: who(change.context) }),
    el('td', { class: 'cell-via', text: via(change.context) }),
    el('td', { class: 'cell-what', text: summary(change) }),
    el('td', { class: 'nowrap' }, toggle));
  return [line, details];
}

/** A table of changes; returns the table and its body (to add rows to, as the live tail does). */
export function changeTable(changes) {
  const body = el('tbody', {}, changes.map(changeRows));
  const table = el('table', { class: 'changes' },
    el('thead', {}, el('tr', {}, COLUMNS.map((c) => el('th', { scope: 'col', text: c })))),
    body);
  return { table: el('div', { class: 'table-wrap' }, table), body };
}

/**
 * A table name that may wrap after "." and "_" only (a <wbr> there), never inside a word: in the trail's narrow
 * column, "order_line_items" broke as "order_li / ne_items".
 */
function breakableName(name) {
  return name.split(/(?<=[._])/).flatMap((part, i) => (i === 0 ? [part] : [document.createElement('wbr'), part]));
}
