// Stored values (JSON from to_jsonb) as text on screen. Strings show as they are, anything else as JSON;
// long text is clamped with a toggle, so a 100 kB value neither floods the page nor hides.
import { el } from './render.js';
import { isRawNumber } from './api.js';

/** Characters shown before a value is clamped. */
export const CLAMP = 300;

/** A JSON value as text: a string as itself, null as "null", anything else as (indented) JSON. */
export function valueText(value) {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (isRawNumber(value)) return value.rawJSON;
  if (value === null || typeof value !== 'object') return String(value);
  return JSON.stringify(value, null, 2);
}

/** A short one-line form of a value (for summaries). */
export function shortText(value, max = 60) {
  const t = typeof value === 'string' ? value : isRawNumber(value) ? value.rawJSON : JSON.stringify(value);
  const line = (t ?? '').replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** A value node: kind-styled text, clamped past `clamp` characters with a "show all" toggle. */
export function valueNode(value, clamp = CLAMP) {
  const kind = value === null ? 'null' : isRawNumber(value) ? 'number' : typeof value === 'object' ? 'json' : typeof value;
  const text = valueText(value);
  const box = el('span', { class: `value value-${kind}` });
  if (text.length <= clamp) {
    box.textContent = text;
    return box;
  }
  const shown = el('span', { class: 'value-text', text: `${text.slice(0, clamp)}…` });
  const toggle = el('button', { type: 'button', class: 'link-button value-toggle', 'aria-expanded': 'false' });
  const label = () => {
    const open = toggle.getAttribute('aria-expanded') === 'true';
    toggle.textContent = open ? 'Show less' : `Show all (${text.length.toLocaleString('en-US')} characters)`;
  };
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    shown.textContent = open ? text : `${text.slice(0, clamp)}…`;
    box.classList.toggle('expanded', open);
    label();
  });
  label();
  box.classList.add('clamped');
  box.append(shown, ' ', toggle);
  return box;
}

/** A key/value table of a JSON object (a context, a row image). */
export function objectTable(obj, caption) {
  const entries = Object.entries(obj || {});
  if (entries.length === 0) return el('p', { class: 'muted', text: caption ? `${caption}: none` : 'none' });
  return el('table', { class: 'kv' },
    caption ? el('caption', { text: caption }) : null,
    el('tbody', {}, entries.map(([k, v]) => el('tr', {}, el('th', { scope: 'row', text: k }), el('td', {}, valueNode(v))))));
}
