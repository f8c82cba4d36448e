// Before/after of one change, per column: which columns it added, removed or changed, shown side by side.
import { el } from './render.js';
import { valueNode, shortText } from './values.js';
import { isRawNumber } from './api.js';

/** Deep equality of two JSON values (row images hold only JSON). */
export function sameValue(a, b) {
  if (a === b) return true;
  if (isRawNumber(a) || isRawNumber(b)) return isRawNumber(a) && isRawNumber(b) && a.rawJSON === b.rawJSON;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameValue(a[k], b[k]));
}

/**
 * Columns of two row images: [{column, kind, before, after}], kind one of added, removed, changed, same.
 * Columns keep the order of the after image, then those only before had.
 */
export function columnDiff(before, after) {
  const b = before || {};
  const a = after || {};
  const columns = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return columns.map((column) => {
    const inB = Object.prototype.hasOwnProperty.call(b, column);
    const inA = Object.prototype.hasOwnProperty.call(a, column);
    let kind = 'same';
    if (!inB && inA) kind = 'added';
    else if (inB && !inA) kind = 'removed';
    else if (!sameValue(b[column], a[column])) kind = 'changed';
    return { column, kind, before: inB ? b[column] : undefined, after: inA ? a[column] : undefined };
  });
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !isRawNumber(v);

/**
 * A changed json(b) column key by key: [{path, before, after}] for every key added, removed or changed, nested keys
 * joined with dots (details.invoice); arrays and scalars are not split. undefined stands for a key that is not there.
 */
export function jsonLeaves(path, before, after, depth = 0, out = []) {
  if (isObject(before) && isObject(after) && depth < 8) {
    for (const key of new Set([...Object.keys(after), ...Object.keys(before)])) {
      const inB = Object.prototype.hasOwnProperty.call(before, key);
      const inA = Object.prototype.hasOwnProperty.call(after, key);
      if (inB && inA && sameValue(before[key], after[key])) continue;
      if (inB && inA) jsonLeaves(`${path}.${key}`, before[key], after[key], depth + 1, out);
      else out.push({ path: `${path}.${key}`, before: inB ? before[key] : undefined, after: inA ? after[key] : undefined });
    }
    return out;
  }
  out.push({ path, before, after });
  return out;
}

/** "status: new → paid; details.invoice: (none) → INV-1", a new row, or a removed one: the change in one line. */
export function summary(change) {
  switch (change.operation) {
    case 'CREATE': return 'new row';
    case 'SNAPSHOT': return 'baseline row';
    case 'DELETE': return 'row removed';
    case 'TRUNCATE': return 'all rows removed';
    default: {
      const changed = columnDiff(change.before, change.after).filter((d) => d.kind !== 'same');
      if (changed.length === 0) return 'no column changed';
      const leaves = changed.flatMap((d) => (d.kind === 'changed' ? jsonLeaves(d.column, d.before, d.after) : [{ path: d.column, before: d.before, after: d.after }]));
      const show = (v) => (v === undefined ? '(none)' : shortText(v, 24));
      const text = leaves.map((l) => `${l.path}: ${show(l.before)} → ${show(l.after)}`).join('; ');
      return text.length > 140 ? `${text.slice(0, 139)}…` : text;
    }
  }
}

/**
 * A table of the columns of one change: column, before, after; changed columns highlighted and listed first.
 * Unchanged columns sit behind a toggle so the change itself stands out.
 */
export function diffTable(change) {
  const rows = columnDiff(change.before, change.after);
  if (rows.length === 0) return el('p', { class: 'muted', text: 'No row image (the change carries none).' });
  const changed = rows.filter((r) => r.kind !== 'same');
  const same = rows.filter((r) => r.kind === 'same');
  const row = (r) => el('tr', { class: `diff-${r.kind}`, dataset: { column: r.column } },
    el('th', { scope: 'row', class: 'diff-column' }, el('span', { text: r.column }), r.kind === 'same' ? null : el('span', { class: 'diff-kind', text: r.kind })),
    el('td', { class: 'diff-before' }, r.before === undefined ? el('span', { class: 'muted', text: '—' }) : valueNode(r.before)),
    el('td', { class: 'diff-after' }, r.after === undefined ? el('span', { class: 'muted', text: '—' }) : valueNode(r.after)));
  const table = el('table', { class: 'diff' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'column' }), el('th', { scope: 'col', text: 'before' }), el('th', { scope: 'col', text: 'after' }))),
    el('tbody', {}, changed.map(row)));
  if (same.length === 0) return table;
  const hidden = el('tbody', { class: 'diff-same', hidden: true }, same.map(row));
  table.append(hidden);
  const toggle = el('button', {
    type: 'button', class: 'link-button', 'aria-expanded': 'false',
    text: `Show ${same.length} unchanged column${same.length === 1 ? '' : 's'}`,
    onclick: () => {
      hidden.hidden = !hidden.hidden;
      toggle.setAttribute('aria-expanded', String(!hidden.hidden));
      toggle.textContent = hidden.hidden ? `Show ${same.length} unchanged column${same.length === 1 ? '' : 's'}` : 'Hide unchanged columns';
    },
  });
  return el('div', { class: 'diff-wrap' }, table, toggle);
}
