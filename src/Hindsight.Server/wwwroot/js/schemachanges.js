// A table's schema changes in a row's timeline: what a migration did to the table, its statement exactly as sent, who
// ran it and as which database role. Like every other value, each reaches the page as text, never as HTML.
import { el } from './render.js';
import { objectTable, valueNode } from './values.js';
import { timeNode, who } from './format.js';

/** The migration a schema change's context names (an EF Core migration id, a script's name), or ''. */
function migration(context) {
  const m = context?.migration;
  return typeof m === 'string' ? m : '';
}

/** Who made a schema change: the user of its context, else its migration, else '' (then only the role is known). */
export function schemaWho(context) {
  const user = who(context);
  if (user) return user;
  const m = migration(context);
  return m ? `migration ${m}` : '';
}

/**
 * Versions (newest first) and schema changes (newest first) as one list, newest first: [{ version } | { schemaChange }].
 * At one commit time the schema change counts as the older: a migration alters a table, then fills it, in one
 * transaction. Times are the API's fixed-width ISO 8601 in UTC, so they compare as text.
 */
export function interleave(versions, schemaChanges) {
  const items = [];
  let i = 0;
  let j = 0;
  while (i < versions.length || j < schemaChanges.length) {
    const v = versions[i];
    const s = schemaChanges[j];
    if (s === undefined || (v !== undefined && v.change.committed_at >= s.committed_at)) {
      items.push({ version: v });
      i += 1;
    } else {
      items.push({ schemaChange: s });
      j += 1;
    }
  }
  return items;
}

/** The table's columns after a change: number, name, type, NOT NULL, default. */
function columnsTable(columns) {
  if (!columns || columns.length === 0) return el('p', { class: 'muted', text: 'none (the table was dropped)' });
  return el('table', { class: 'rows schema-columns' },
    el('thead', {}, el('tr', {}, ['#', 'column', 'type', 'not null', 'default'].map((c) => el('th', { scope: 'col', text: c })))),
    el('tbody', {}, columns.map((c) => el('tr', { dataset: { column: c.name } },
      el('td', { class: 'num', text: String(c.number) }),
      el('td', { text: c.name }),
      el('td', { text: c.type }),
      el('td', { text: c.not_null ? 'yes' : '' }),
      el('td', {}, c.default === null || c.default === undefined ? '' : valueNode(c.default),
        c.generated ? el('span', { class: 'muted small', text: ' (generated)' }) : null)))));
}

/** One schema change as a timeline item: effects first (what a reader needs), then the statement, then the details. */
export function schemaChangeItem(s) {
  const by = schemaWho(s.context);
  const m = migration(s.context);
  return el('li', { class: 'timeline-item timeline-schema', dataset: { schemaChangeId: String(s.id) } },
    el('div', { class: 'timeline-head' },
      timeNode(s.committed_at), ' ',
      el('strong', { class: 'schema-label', text: 'Schema change' }),
      el('span', { class: 'badge op-schema', text: s.command_tag }),
      by ? el('span', { class: 'timeline-who', text: `by ${by}` }) : null,
      m && by !== `migration ${m}` ? el('span', { class: 'muted schema-migration', text: `migration ${m}` }) : null,
      s.role ? el('span', { class: 'muted schema-role', text: `role ${s.role}` }) : null,
      el('span', { class: 'muted small', text: `schema change ${s.id} · transaction ${s.transaction_id}` })),
    el('ul', { class: 'schema-effects' }, s.effects.map((e) => el('li', { text: e }))),
    s.statement === null || s.statement === undefined ? null : el('div', { class: 'schema-statement code' },
      valueNode(s.statement),
      s.statement_truncated ? el('div', { class: 'muted small', text: 'The statement is longer than the store keeps (1 MiB): it is cut.' }) : null),
    el('details', { class: 'timeline-context' }, el('summary', { text: 'Context' }), objectTable(s.context)),
    el('details', { class: 'timeline-context' }, el('summary', { text: 'Columns after this change' }), columnsTable(s.columns)));
}
