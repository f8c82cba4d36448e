// DOM helpers. Every piece of data reaches the page as a text node or a property, never as HTML:
// nothing here parses markup, so a value holding <script> or an event handler stays text.

/**
 * Makes an element. attrs: class, text, on<event> handlers, dataset (object), and otherwise properties
 * (htmlFor, type, value, href…) or, for names with a dash (aria-*), attributes. Children: nodes, strings
 * (as text), arrays, null/false (skipped).
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = String(value);
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (name.includes('-')) node.setAttribute(name, value === true ? '' : String(value));
    else node[name] = value;
  }
  append(node, children);
  return node;
}

/** Appends children (nodes, strings as text, nested arrays; null and false skipped). */
export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Empties a node and fills it with children. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/** An error box for an ApiError (or any error): its title and the server's detail, as text. */
export function problemBox(error) {
  const title = error?.title || 'Something went wrong';
  const detail = error?.detail || error?.message || String(error);
  return el('div', { class: 'alert alert-error', role: 'alert' },
    el('strong', { text: `${title}:` }), ' ', el('span', { class: 'detail', text: detail }));
}

/** A neutral message box. */
export function note(text, kind = 'info') {
  return el('div', { class: `alert alert-${kind}`, role: kind === 'info' ? 'status' : 'alert' }, text);
}

/** A labelled form field: the label names the control (for), so screen readers and tests find it. */
export function field(label, control, hint) {
  const id = control.id || (control.id = uid(control.name || 'field'));
  return el('div', { class: 'field' },
    el('label', { htmlFor: id, text: label }),
    control,
    hint ? el('small', { class: 'hint', text: hint }) : null);
}

let counter = 0;
/** A page-unique id for form controls. */
export function uid(prefix) {
  counter += 1;
  return `${prefix.replace(/[^a-z0-9_-]/gi, '')}-${counter}`;
}

/** A <select> with options given as [value, label] pairs (or strings), the given one selected. */
export function select(name, options, selected) {
  const s = el('select', { name });
  for (const o of options) {
    const [value, label] = Array.isArray(o) ? o : [o, o];
    s.append(el('option', { value, text: label, selected: value === selected }));
  }
  return s;
}

/** A small badge for an operation (CREATE, UPDATE…), coloured by CSS class. */
export function opBadge(operation) {
  const op = String(operation || '');
  return el('span', { class: `badge op op-${op.toLowerCase().replace(/[^a-z]/g, '')}`, text: op });
}

/** Sets the document title and the view's heading. */
export function heading(text, ...extra) {
  document.title = `${text} · Hindsight`;
  return el('div', { class: 'view-head' }, el('h1', { text }), extra);
}

/** A pager's link styled as a button, or the same label shown disabled when there is no such page (`link` null). */
export function pageLink(text, link) {
  return link
    ? el('a', { class: 'button', href: link, text })
    : el('span', { class: 'button disabled', 'aria-disabled': 'true', text });
}
