// Trends: counts of changes per time bucket, by table, operation, source or a context key, as a stacked bar chart
// (and as a table, for reading exact figures). The server counts; the page only draws.
import { api } from '../api.js';
import { el, field, heading, note, problemBox, replace, select } from '../render.js';
import { go } from '../router.js';
import { apiFilterOrProblem, filterForm, filterValues } from '../filters.js';
import { stackedBars, groupsOf, OTHER_COLOR } from '../chart.js';
import { count, time } from '../format.js';

const BUCKETS = ['minute', 'hour', 'day', 'week'];
const BY = [['table', 'table'], ['operation', 'operation'], ['source', 'source'], ['context', 'a context key']];
/** The default range: the last day, by hour (a long range of small buckets is too many points). */
const DEFAULT_HOURS = 24;

function defaultSince() {
  return new Date(Date.now() - DEFAULT_HOURS * 3600e3).toISOString().slice(0, 19);
}

/** Route params: bucket, by, byctx (the context key), and the filter (table, op, ctx key/value, since, until). */
export async function render(root, params) {
  const values = filterValues(params);
  // No since: the last day; since=all: the whole trail (the server refuses more than 10,000 points).
  if (!params.has('since')) values.since = defaultSince();
  else if (values.since === 'all') values.since = '';
  const bucket = BUCKETS.includes(params.get('bucket')) ? params.get('bucket') : 'hour';
  const by = ['table', 'operation', 'source', 'context'].includes(params.get('by')) ? params.get('by') : 'table';
  const byContext = params.get('byctx') || 'userId';

  const bucketSelect = select('bucket', BUCKETS, bucket);
  const bySelect = select('by', BY, by);
  const byKey = el('input', { name: 'byctx', value: byContext, autocomplete: 'off' });
  const byKeyField = field('Context key to group by', byKey);
  byKeyField.hidden = by !== 'context';
  bySelect.addEventListener('change', () => { byKeyField.hidden = bySelect.value !== 'context'; });
  const form = filterForm(values, {
    fields: ['table', 'op', 'since', 'until', 'ctxkey', 'ctxval', 'source'],
    submitLabel: 'Show',
    extra: [field('Bucket', bucketSelect), field('Group by', bySelect), byKeyField],
    onSubmit: (v) => go('trends', { ...v, since: v.since || 'all', bucket: bucketSelect.value, by: bySelect.value, byctx: bySelect.value === 'context' ? byKey.value : '' }),
  });
  const results = el('div', { class: 'results' }, el('p', { class: 'muted', text: 'Loading…' }));
  replace(root, heading('Trends'), form, results);

  const filter = apiFilterOrProblem(values, results);
  if (filter === null) return;
  let answer;
  try {
    answer = await api('/trends', { params: { ...filter, bucket, by: by === 'context' ? `context:${byContext}` : by } });
  } catch (e) {
    replace(results, problemBox(e));
    return;
  }
  const points = answer.points;
  if (points.length === 0) {
    replace(results, note('No changes in this range.'));
    return;
  }
  const total = points.reduce((a, p) => a + p.count, 0);
  const groups = groupsOf(points);
  const legend = el('ul', { class: 'legend' },
    groups.kept.map((g) => legendItem(g, groups.color(g))),
    groups.other ? legendItem('other', OTHER_COLOR) : null);
  replace(results,
    el('p', { class: 'page-status', role: 'status', text: `${count(total)} changes by ${by === 'context' ? byContext : by}, per ${bucket} (UTC).` }),
    el('figure', { class: 'chart-box' }, stackedBars(points, bucket, `Changes per ${bucket} by ${by}`), legend),
    el('details', { class: 'chart-data' },
      el('summary', { text: 'The figures as a table' }),
      el('table', { class: 'rows' },
        el('thead', {}, el('tr', {}, ['bucket (UTC)', 'group', 'changes'].map((c) => el('th', { scope: 'col', text: c })))),
        el('tbody', {}, points.map((p) => el('tr', {}, el('td', { text: time(p.bucket) }), el('td', { text: p.group ?? '(none)' }), el('td', { class: 'num', text: count(p.count) })))))));
}

function legendItem(group, color) {
  const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
  swatch.style.backgroundColor = color; // CSSOM, not a style attribute: allowed by style-src 'self'
  return el('li', {}, swatch, el('span', { text: group }));
}
