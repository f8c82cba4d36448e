// The audit trail: filters, one page of changes at a time (keyset paging on the change id, never everything).
import { api } from '../api.js';
import { el, heading, note, pageLink, problemBox, replace, select, field } from '../render.js';
import { go, href } from '../router.js';
import { apiFilterOrProblem, filterForm, filterValues, FILTER_PARAMS } from '../filters.js';
import { changeTable } from '../changelist.js';
import { count } from '../format.js';

const PAGE_SIZES = ['10', '25', '50', '100', '250'];

/**
 * Route params: the filter (filters.js), limit, and the page: cursor (changes older than that id: the API's
 * next_cursor) or newer (changes newer than that id, read oldest first and shown newest first).
 */
export async function render(root, params) {
  const shownAt = location.hash;
  const values = filterValues(params);
  const limit = PAGE_SIZES.includes(params.get('limit')) ? params.get('limit') : '50';
  const cursor = params.get('cursor') || '';
  const newer = params.get('newer') || '';

  const pageSize = select('limit', PAGE_SIZES.map((s) => [s, `${s} per page`]), limit);
  const form = filterForm(values, {
    onSubmit: (v) => go('changes', { ...v, limit: pageSize.value }),
    extra: [field('Page size', pageSize)],
  });
  const status = el('p', { class: 'page-status', role: 'status' });
  const results = el('div', { class: 'results' }, el('p', { class: 'muted', text: 'Loading…' }));
  replace(root, heading('Audit trail'), form, status, results);

  const filter = apiFilterOrProblem(values, results);
  if (filter === null) return;
  const paging = newer ? { order: 'oldest', cursor: newer } : { order: 'newest', cursor };
  let page;
  try {
    page = await api('/changes', { params: { ...filter, limit, ...paging } });
  } catch (e) {
    replace(results, problemBox(e));
    return;
  }
  const base = { ...Object.fromEntries(FILTER_PARAMS.map((n) => [n, values[n]])), limit };
  if (newer && page.next_cursor === null) {
    // Nothing newer past this page: it is the newest page, shown whole (unless the user has gone elsewhere meanwhile).
    if (location.hash === shownAt) location.replace(href('changes', base));
    return;
  }
  const changes = newer ? page.changes.slice().reverse() : page.changes;
  // A newer page always has an older side (the page it came from); the first page has no newer side.
  const hasOlder = newer ? true : page.next_cursor !== null;
  const hasNewer = newer ? true : cursor !== '';

  if (changes.length === 0) {
    status.textContent = '';
    replace(results, note(cursor || newer ? 'No more changes on this side.' : 'No changes match these filters.'));
  } else {
    const first = changes[0];
    const last = changes[changes.length - 1];
    status.textContent = `${count(changes.length)} change${changes.length === 1 ? '' : 's'}, newest first (ids ${last.id}–${first.id})`;
    replace(results, changeTable(changes).table);
  }

  const pager = el('nav', { class: 'pager', 'aria-label': 'Pages' },
    el('a', { class: 'button', href: href('changes', base), text: 'Newest', 'aria-disabled': String(!cursor && !newer) }),
    pageLink('← Newer', hasNewer && changes.length > 0 ? href('changes', { ...base, newer: changes[0].id }) : null),
    pageLink('Older →', hasOlder && changes.length > 0 ? href('changes', { ...base, cursor: changes[changes.length - 1].id }) : null));
  results.append(pager);
}
