// The change filter as a form, as URL params (shareable), and as the API's query parameters.
// Values only ever travel as parameters: the server compares them as values and never builds SQL from them.
import { el, field, problemBox, replace, select } from './render.js';

/** Names of the filter's URL params. */
export const FILTER_PARAMS = ['table', 'key', 'op', 'since', 'until', 'ctxkey', 'ctxval', 'ctx', 'tx', 'source'];

const OPERATIONS = [['', 'any'], 'CREATE', 'UPDATE', 'DELETE', 'TRUNCATE', 'SNAPSHOT'];
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/;
const CONTEXT_KEYS = ['userId', 'requestId', 'route', 'job', 'apiKey', 'traceId', 'tenant'];

/** The filter values of a route's params. */
export function filterValues(params) {
  const values = {};
  for (const name of FILTER_PARAMS) values[name] = params.get(name) || '';
  return values;
}

/**
 * The API's filter parameters for the values: table, key, operation, since, until, transaction and context
 * (the JSON object of "Context (JSON)" with the key/value pair added). Throws an Error a person can act on.
 */
export function apiFilter(values) {
  let context = null;
  if (values.ctx) {
    try { context = JSON.parse(values.ctx); } catch { context = undefined; }
    if (context === null || typeof context !== 'object' || Array.isArray(context)) {
      throw new Error('Context (JSON) must be a JSON object, e.g. {"userId": "alice"}');
    }
  }
  if (values.ctxkey || values.ctxval) {
    if (!values.ctxkey) throw new Error('Give the context key that the value belongs to (e.g. userId)');
    context = { ...(context || {}), [values.ctxkey]: values.ctxval };
  }
  return {
    table: values.table,
    key: values.key,
    operation: values.op,
    since: values.since,
    until: values.until,
    transaction: values.tx,
    context: context ? JSON.stringify(context) : '',
    source: values.source,
  };
}

/**
 * The filter form. fields: which of the filter's fields to show (default all); onSubmit(values) gets the
 * values as URL params.
 */
export function filterForm(values, { fields = FILTER_PARAMS, onSubmit, submitLabel = 'Apply filters', extra = [] } = {}) {
  const has = (name) => fields.includes(name);
  const input = (name, attrs = {}) => el('input', { name, value: values[name] || '', autocomplete: 'off', ...attrs });
  const time = (name) => {
    const i = input(name, { type: 'datetime-local', step: '1' });
    i.value = LOCAL_TIME.test(values[name] || '') ? values[name] : '';
    return i;
  };
  const keys = el('datalist', { id: 'context-keys' }, CONTEXT_KEYS.map((k) => el('option', { value: k })));
  const main = el('div', { class: 'filter-grid' },
    has('table') ? field('Table', input('table', { placeholder: 'orders or schema.table' })) : null,
    has('key') ? field('Primary key', input('key', { placeholder: '42 or [1,"a"]' })) : null,
    has('op') ? field('Operation', select('op', OPERATIONS, values.op || '')) : null,
    has('since') ? field('Since (UTC)', time('since')) : null,
    has('until') ? field('Until (UTC)', time('until')) : null,
    has('ctxkey') ? field('Context key', input('ctxkey', { placeholder: 'userId' })) : null,
    has('ctxval') ? field('Context value', input('ctxval', { placeholder: 'alice@example.com' })) : null,
    extra);
  // el() sets properties; `list` is read-only as a property, so it is set as an attribute here.
  for (const i of main.querySelectorAll('input[name="ctxkey"]')) i.setAttribute('list', 'context-keys');
  const more = has('tx') || has('ctx') || has('source')
    ? el('details', { class: 'more-filters', open: Boolean(values.tx || values.ctx || values.source) },
      el('summary', { text: 'More filters' }),
      el('div', { class: 'filter-grid' },
        has('tx') ? field('Transaction id', input('tx', { inputMode: 'numeric', placeholder: 'xid' })) : null,
        has('ctx') ? field('Context (JSON)', input('ctx', { placeholder: '{"tenant": "acme"}' }), 'a JSON object the context must contain') : null,
        has('source') ? field('Source', input('source', { placeholder: "this server's; * for all" }), 'a source (tracked database) of the store, by its name') : null))
    : null;
  const form = el('form', { class: 'filters', role: 'search' },
    keys, main, more,
    el('div', { class: 'actions' },
      el('button', { type: 'submit', class: 'primary', text: submitLabel }),
      el('button', {
        type: 'button', text: 'Clear',
        onclick: () => { for (const c of form.elements) if (c.name) c.value = ''; onSubmit({}); },
      })));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const out = {};
    for (const c of form.elements) if (c.name && c.value) out[c.name] = c.value.trim() === '' ? '' : c.value;
    onSubmit(out);
  });
  return form;
}

/**
 * The API's filter parameters for the values (apiFilter), or null after showing why the filters cannot be used in
 * place of what `box` held: the one way every view that filters reports a filter a person must fix.
 */
export function apiFilterOrProblem(values, box) {
  try {
    return apiFilter(values);
  } catch (e) {
    replace(box, problemBox({ title: 'Check the filters', detail: e.message }));
    return null;
  }
}
