// A table, or one row, as it was at a moment, right after a transaction, or at a WAL position.
import { api } from '../api.js';
import { el, field, heading, note, pageLink, problemBox, replace, select } from '../render.js';
import { go, href } from '../router.js';
import { valueNode } from '../values.js';
import { count, nowIso, qualified, timeNode } from '../format.js';

/** Rows asked for: a page, never a whole big table. */
const LIMIT = 200;
/** Columns shown in the table view; the row's page shows them all. */
const MAX_COLUMNS = 12;

const POINTS = [['at', 'at a time (UTC)'], ['tx', 'right after a transaction (xid)'], ['lsn', 'at a WAL position (LSN)']];

/** Route params: table, key (optional), after (the page of a table after this key), limit (page size), and one of at, tx, lsn. */
export async function render(root, params) {
  const table = params.get('table') || '';
  const key = params.get('key') || '';
  const after = key ? '' : params.get('after') || '';
  const limit = Math.min(Math.max(Number.parseInt(params.get('limit') || '', 10) || LIMIT, 1), LIMIT);
  const kind = POINTS.find(([p]) => params.get(p))?.[0] || 'at';
  const point = params.get(kind) || '';

  const kindSelect = select('point', POINTS, kind);
  const pointInput = el('input', { name: 'value', value: point || (kind === 'at' ? nowIso() : ''), autocomplete: 'off', placeholder: '2025-01-31T12:00:00Z' });
  const form = el('form', { class: 'filters', role: 'search' },
    el('div', { class: 'filter-grid' },
      field('Table', el('input', { name: 'table', value: table, placeholder: 'orders', autocomplete: 'off', required: true })),
      field('Primary key (optional)', el('input', { name: 'key', value: key, placeholder: 'every row when empty', autocomplete: 'off' })),
      field('Point', kindSelect),
      field('Value', pointInput, 'a time is ISO 8601; without an offset it is UTC')),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary', text: 'Show' })));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    go('as-of', { table: form.elements.table.value, key: form.elements.key.value, [kindSelect.value]: pointInput.value.trim() });
  });
  const results = el('div', { class: 'results' });
  replace(root, heading('As of'), form, results);
  if (!table || !point) {
    results.append(note('Name a table and a moment to see its rows as they were then (one row with its primary key).'));
    return;
  }

  results.append(el('p', { class: 'muted', text: 'Loading…' }));
  const apiPoint = { at: kind === 'at' ? point : '', transaction: kind === 'tx' ? point : '', lsn: kind === 'lsn' ? point : '' };
  let answer;
  try {
    answer = await api('/as-of', { params: { table, key, after, ...apiPoint, limit } });
  } catch (e) {
    // A row that did not exist then is a 404 whose detail says so: information, not a failure.
    replace(results, e.status === 404 ? note(e.detail, 'warning') : problemBox(e));
    return;
  }
  const summary = el('p', { class: 'page-status', role: 'status' },
    `${answer.table} as of `, timeNode(answer.at), ': ',
    key ? '' : `${count(answer.row_count)} row${answer.row_count === 1 ? '' : 's'} by key${after ? ` after ${after}` : ''}${answer.truncated ? ', more follow' : ''}.`);
  const completeness = note(answer.completeness_note, answer.complete ? 'info' : 'warning');
  // A table is read a page at a time by key (keyset paging): the server never reads the whole table for one screen.
  const routeParams = { table, [kind]: point, limit: params.get('limit') || '' };
  const pager = key ? null : el('nav', { class: 'pager', 'aria-label': 'Pages' },
    pageLink('First page', after ? href('as-of', routeParams) : null),
    pageLink('Next page →', answer.next_after ? href('as-of', { ...routeParams, after: answer.next_after }) : null));
  // Columns the rows do not hold as data (generated columns the source does not publish, redacted digests): said, and marked in the cells.
  const untracked = answer.untracked_columns || {};
  const untrackedNote = answer.untracked_note ? note(answer.untracked_note, 'warning') : null;
  replace(results, summary, completeness, untrackedNote,
    key && answer.rows.length === 1 ? oneRow(answer.rows[0], untracked) : rowsTable(answer.rows, untracked), pager);
}

const REASONS = { generated: 'not tracked: generated', redacted: 'redacted' };

/** A cell of a column whose value is not tracked: a visible marker, never a value that could pass for data. */
function untrackedNode(reason) {
  return el('span', { class: 'value-untracked', dataset: { untracked: reason }, title: reason === 'generated'
    ? 'A generated column the source does not publish: no stored image holds its value'
    : 'A redacted column: the store holds a digest that shows whether it changed, never the value', text: REASONS[reason] || 'not tracked' });
}

/** The row's value of column c, or its marker when the column is untracked in this row. */
function cell(r, c, width) {
  const reason = (r.untracked_columns || {})[c];
  return reason ? untrackedNode(reason) : valueNode(r.row[c], width);
}

function oneRow(r, untracked) {
  const columns = [...new Set([...Object.keys(r.row), ...Object.keys(r.untracked_columns || {}), ...Object.keys(untracked)])];
  return el('section', { class: 'asof-row' },
    el('table', { class: 'kv asof' },
      el('tbody', {}, columns.map((c) =>
        el('tr', { dataset: { column: c } }, el('th', { scope: 'row', text: c }), el('td', {}, cell(r, c)))))),
    el('p', { class: 'muted' }, `Left so by change ${r.change_id} at `, timeNode(r.changed_at), '. ',
      el('a', { href: href('record', { table: qualified(r.schema, r.table), key: r.primary_key }), text: 'Row history' })));
}

function rowsTable(rows, untracked) {
  if (rows.length === 0) return note('No rows then, as far as the store knows.');
  const columns = [...new Set([...rows.flatMap((r) => Object.keys(r.row)), ...Object.keys(untracked)])];
  const shown = columns.slice(0, MAX_COLUMNS);
  return el('div', { class: 'table-wrap' },
    el('table', { class: 'rows' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'key' }), shown.map((c) => el('th', { scope: 'col', text: c })),
        columns.length > shown.length ? el('th', { scope: 'col', text: `+${columns.length - shown.length} more` }) : null)),
      el('tbody', {}, rows.map((r) => el('tr', { dataset: { key: r.primary_key } },
        el('td', {}, el('a', { href: href('record', { table: qualified(r.schema, r.table), key: r.primary_key }), text: r.primary_key })),
        shown.map((c) => el('td', {}, cell(r, c, 80))),
        columns.length > shown.length ? el('td', { class: 'muted', text: '…' }) : null)))));
}
