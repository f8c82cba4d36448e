using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hindsight.Model;
using Hindsight.Query;
using Npgsql;

namespace Hindsight.Revert;

/// <summary>
/// The order a plan's statements run in, for the foreign keys among its tables: a dependency graph between the
/// statements, at the level of rows, sorted topologically while keeping the plan's own order (newest change first for a
/// revert, the table phases of a rollback) among statements that do not depend on each other.
/// </summary>
/// <remarks>
/// <para>
/// Each statement's row is known before it runs and after (the change's images for a revert; the live row and the
/// image at the moment for a rollback). For each foreign key (<c>conkey</c>/<c>confkey</c>), a statement on the parent
/// table that makes key <c>k</c> exist (an INSERT, or an UPDATE to <c>k</c>) or removes it is an event of <c>k</c>; a
/// statement on the child table that makes its row reference <c>k</c> runs after the event that makes <c>k</c> exist
/// (the nearest one at or before its place in the plan, else the next one), and a statement that stops its row
/// referencing <c>k</c> (moves it, deletes it, sets it to NULL) runs before the event that removes <c>k</c>. Values
/// compare as jsonb (<see cref="JsonEquality"/>); a reference with any NULL column references nothing (MATCH SIMPLE).
/// Statements on the same row, and the events of the same parent key, keep their order.
/// </para>
/// <para>
/// A DEFERRABLE foreign key is deferred to commit when applying, so its edges are only preferences, dropped when they
/// would close a cycle; so are the edges an ON UPDATE/ON DELETE SET NULL, SET DEFAULT or ON UPDATE CASCADE action would
/// make good by itself (when the key's columns are not part of the child's primary key). A cycle left among the other
/// edges (e.g. two rows inserted in one statement that reference each other through a NOT DEFERRABLE key) is refused,
/// naming the constraint and the rows: no order of single-row statements can satisfy it.
/// </para>
/// </remarks>
internal static class RevertOrder
{
    /// <summary>The statements in an order PostgreSQL accepts for the foreign keys among <paramref name="tables"/>.</summary>
    /// <exception cref="AuditQueryException">No order satisfies the NOT DEFERRABLE foreign keys (a cycle between rows).</exception>
    public static async Task<List<RevertStatement>> OrderAsync(NpgsqlConnection source, IReadOnlyList<RevertStatement> statements,
        IReadOnlyDictionary<(string, string), RevertTable> tables, CancellationToken ct)
    {
        if (statements.Count < 2) return statements.ToList();
        var written = statements.Select(s => s.Table).Distinct().ToList();
        var keys = await ForeignKey.LoadAsync(source, written, ct).ConfigureAwait(false);
        return Order(statements, tables, keys);
    }

    /// <summary>The ordering itself (no database access).</summary>
    internal static List<RevertStatement> Order(IReadOnlyList<RevertStatement> statements, IReadOnlyDictionary<(string, string), RevertTable> tables,
        IReadOnlyList<ForeignKey> keys)
    {
        var n = statements.Count;
        var rows = statements.Select(RowStates).ToArray();
        var graph = new Graph(n);

        // The same row (by its primary key before or after) keeps the plan's order.
        var lastOfRow = new Dictionary<(TableName, string), int>();
        for (var i = 0; i < n; i++)
        {
            var s = statements[i];
            if (!tables.TryGetValue((s.Table.Schema!, s.Table.Name), out var t)) continue;
            foreach (var key in new[] { Tuple(rows[i].Pre, t.Key), Tuple(rows[i].Post, t.Key) }.OfType<string>().Distinct())
            {
                if (lastOfRow.TryGetValue((s.Table, key), out var previous))
                    graph.Add(previous, i, true, $"both write {s.Table} key {s.PrimaryKey}");
                lastOfRow[(s.Table, key)] = i;
            }
        }

        foreach (var fk in keys) AddForeignKey(fk, statements, rows, tables, graph);
        return graph.Sort(statements);
    }

    /// <summary>The row before and after a statement (null where it does not exist).</summary>
    private sealed record RowState(JsonObject? Pre, JsonObject? Post);

    private static RowState RowStates(RevertStatement s)
    {
        if (s.Change is { } c)
            return c.Operation switch
            {
                Model.Operation.Create => new RowState(c.After, null),
                Model.Operation.Delete => new RowState(null, c.Before),
                Model.Operation.Update => new RowState(c.After, Overlay(c.After, c.Before)),
                _ => new RowState(null, null),
            };
        var image = s.Parameters.Count > 0 ? JsonNode.Parse(s.Parameters[0]) as JsonObject : null;
        return s.Action switch
        {
            "DELETE" => new RowState(image, null),
            "INSERT" => new RowState(null, image),
            "UPDATE" when s.Expected?.Row is { } live && JsonNode.Parse(live) is JsonObject pre => new RowState(pre, Overlay(pre, image)),
            _ => new RowState(image, image),
        };
    }

    /// <summary>The row <paramref name="row"/> with the columns of <paramref name="image"/> written over it.</summary>
    private static JsonObject Overlay(JsonObject row, JsonObject? image)
    {
        var result = new JsonObject();
        foreach (var (col, value) in row) result[col] = value?.DeepClone();
        if (image is not null)
            foreach (var (col, value) in image) result[col] = value?.DeepClone();
        return result;
    }

    private static void AddForeignKey(ForeignKey fk, IReadOnlyList<RevertStatement> statements, RowState[] rows,
        IReadOnlyDictionary<(string, string), RevertTable> tables, Graph graph)
    {
        // The events of each parent key: statements that make it exist or remove it, in plan order.
        var events = new Dictionary<string, List<(int At, bool Makes)>>(StringComparer.Ordinal);
        var shown = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < statements.Count; i++)
        {
            if (statements[i].Table != fk.Parent) continue;
            var (pre, post) = (Tuple(rows[i].Pre, fk.ParentColumns), Tuple(rows[i].Post, fk.ParentColumns));
            if (pre == post) continue;
            if (post is not null) Event(post, i, true, rows[i].Post!);
            if (pre is not null) Event(pre, i, false, rows[i].Pre!);
        }
        if (events.Count == 0) return;
        foreach (var (k, list) in events)
            for (var e = 1; e < list.Count; e++)
                graph.Add(list[e - 1].At, list[e].At, true, $"both change whether {fk.Parent} key {shown[k]} exists");

        var childKey = tables.TryGetValue((fk.Child.Schema!, fk.Child.Name), out var child) ? child.Key : [];
        var actionsSuffice = !fk.ChildColumns.Intersect(childKey).Any();
        for (var i = 0; i < statements.Count; i++)
        {
            if (statements[i].Table != fk.Child) continue;
            var (pre, post) = (Tuple(rows[i].Pre, fk.ChildColumns), Tuple(rows[i].Post, fk.ChildColumns));
            if (pre == post) continue;
            if (post is not null && events.TryGetValue(post, out var made)) Attach(i, post, made);
            if (pre is not null && events.TryGetValue(pre, out var removed)) Detach(i, pre, removed);
        }
        return;

        void Event(string key, int at, bool makes, JsonObject row)
        {
            if (!events.TryGetValue(key, out var list)) events[key] = list = [];
            list.Add((at, makes));
            shown.TryAdd(key, Show(row, fk.ParentColumns));
        }

        string Why(int i, string key, string verb) =>
            $"{statements[i].Table} key {statements[i].PrimaryKey} {verb} {fk.Parent} key {shown[key]} through constraint \"{fk.Name}\"";

        // Whether the key exists just before plan position `at` (between the events before it and after it).
        static (int Before, bool Exists) Slot(List<(int At, bool Makes)> list, int at)
        {
            var before = list.Count(e => e.At < at);
            return (before, before == 0 ? !list[0].Makes : list[before - 1].Makes);
        }

        // The row comes to reference `key`: after the event that makes it exist.
        void Attach(int i, string key, List<(int At, bool Makes)> list)
        {
            if (list.Any(e => e.At == i)) return; // a row referencing itself: checked after the row is written
            var (before, exists) = Slot(list, i);
            var why = Why(i, key, "comes to reference");
            if (exists)
            {
                if (before > 0) graph.Add(list[before - 1].At, i, !fk.Deferrable, why);
                return;
            }
            var maker = list.Skip(before).FirstOrDefault(e => e.Makes);
            if (maker != default) graph.Add(maker.At, i, !fk.Deferrable, why);
            else if (before > 0) graph.Add(i, list[before - 1].At, !fk.Deferrable, why);
        }

        // The row stops referencing `key`: before the event that removes it.
        void Detach(int i, string key, List<(int At, bool Makes)> list)
        {
            if (list.Any(e => e.At == i)) return;
            var (before, exists) = Slot(list, i);
            var remover = exists
                ? (before < list.Count && !list[before].Makes ? list[before].At : -1)
                : (before > 0 ? list[before - 1].At : -1);
            if (remover < 0) return;
            var deletes = rows[remover].Post is null;
            var action = deletes ? fk.OnDelete : fk.OnUpdate;
            // The action would make the child good by itself (the later statement on the child still finds its row),
            // or the check is deferred: only a preference. A cascaded DELETE would remove the row the plan still writes.
            var hard = action switch
            {
                'r' => true,
                'a' => !fk.Deferrable,
                'c' => deletes || !actionsSuffice,
                _ => !actionsSuffice,
            };
            graph.Add(i, remover, hard, Why(i, key, "references"));
        }
    }

    /// <summary>
    /// The values of <paramref name="columns"/> in <paramref name="row"/> as one comparable text (jsonb equality), or null
    /// when the row is absent or any of them is NULL or missing (such a reference references nothing).
    /// </summary>
    internal static string? Tuple(JsonObject? row, IReadOnlyList<string> columns)
    {
        if (row is null || columns.Count == 0) return null;
        var sb = new StringBuilder();
        foreach (var col in columns)
        {
            if (!row.TryGetPropertyValue(col, out var value) || value is null) return null;
            if (value is JsonValue v && v.GetValueKind() == JsonValueKind.Null) return null;
            Canonical(value, sb);
            sb.Append('\u001f');
        }
        return sb.ToString();
    }

    private static void Canonical(JsonNode? node, StringBuilder sb)
    {
        switch (node)
        {
            case null:
                sb.Append("null");
                break;
            case JsonObject o:
                sb.Append('{');
                foreach (var (k, v) in o.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    sb.Append(JsonSerializer.Serialize(k)).Append(':');
                    Canonical(v, sb);
                    sb.Append(',');
                }
                sb.Append('}');
                break;
            case JsonArray a:
                sb.Append('[');
                foreach (var v in a) { Canonical(v, sb); sb.Append(','); }
                sb.Append(']');
                break;
            case JsonValue v:
                switch (v.GetValueKind())
                {
                    case JsonValueKind.String: sb.Append(JsonSerializer.Serialize(v.GetValue<string>())); break;
                    case JsonValueKind.Number: sb.Append('n').Append(JsonEquality.CanonicalNumber(v.ToJsonString())); break;
                    case JsonValueKind.True: sb.Append("true"); break;
                    case JsonValueKind.False: sb.Append("false"); break;
                    default: sb.Append("null"); break;
                }
                break;
        }
    }

    /// <summary>A key for messages: the value's text, or a JSON array of a composite key's values.</summary>
    private static string Show(JsonObject row, IReadOnlyList<string> columns)
    {
        if (columns.Count == 1)
            return row[columns[0]] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : row[columns[0]]?.ToJsonString() ?? "null";
        return new JsonArray(columns.Select(c => row[c]?.DeepClone()).ToArray()).ToJsonString();
    }

    /// <summary>Edges between statements: hard ones must hold; soft ones (deferred checks) are kept where they can be.</summary>
    private sealed class Graph(int count)
    {
        private readonly Dictionary<(int From, int To), (bool Hard, string Why)> _edges = [];

        public void Add(int from, int to, bool hard, string why)
        {
            if (from == to) return;
            if (_edges.TryGetValue((from, to), out var existing) && (existing.Hard || !hard)) return;
            _edges[(from, to)] = (hard, why);
        }

        /// <summary>
        /// Kahn's algorithm taking the earliest statement of the plan that is free; when none is free, the earliest whose
        /// only waits are soft; when none is, a cycle of hard edges: refused.
        /// </summary>
        public List<RevertStatement> Sort(IReadOnlyList<RevertStatement> statements)
        {
            var hardIn = new int[count];
            var softIn = new int[count];
            var next = new List<(int To, bool Hard)>[count];
            var previous = new List<(int From, string Why)>[count];
            for (var i = 0; i < count; i++) { next[i] = []; previous[i] = []; }
            foreach (var ((from, to), (hard, why)) in _edges)
            {
                next[from].Add((to, hard));
                if (hard) { hardIn[to]++; previous[to].Add((from, why)); }
                else softIn[to]++;
            }
            var free = new SortedSet<int>(Enumerable.Range(0, count).Where(i => hardIn[i] == 0 && softIn[i] == 0));
            var softOnly = new SortedSet<int>(Enumerable.Range(0, count).Where(i => hardIn[i] == 0 && softIn[i] > 0));
            var done = new bool[count];
            var order = new List<RevertStatement>(count);
            while (order.Count < count)
            {
                int v;
                if (free.Count > 0) { v = free.Min; free.Remove(v); }
                else if (softOnly.Count > 0) { v = softOnly.Min; softOnly.Remove(v); }
                else throw Cycle(statements, done, previous);
                done[v] = true;
                order.Add(statements[v]);
                foreach (var (to, hard) in next[v])
                {
                    if (done[to]) continue;
                    var wasSoftOnly = hardIn[to] == 0;
                    if (hard) hardIn[to]--; else softIn[to]--;
                    if (hardIn[to] != 0) continue;
                    if (softIn[to] == 0) { if (wasSoftOnly) softOnly.Remove(to); free.Add(to); }
                    else softOnly.Add(to);
                }
            }
            return order;
        }

        private static AuditQueryException Cycle(IReadOnlyList<RevertStatement> statements, bool[] done, List<(int From, string Why)>[] previous)
        {
            // Every statement left waits on another one left: walk back until a statement repeats.
            var v = Enumerable.Range(0, done.Length).First(i => !done[i]);
            var seen = new Dictionary<int, int>();
            var walk = new List<(int From, int To, string Why)>();
            while (!seen.ContainsKey(v))
            {
                seen[v] = walk.Count;
                var (from, why) = previous[v].First(p => !done[p.From]);
                walk.Add((from, v, why));
                v = from;
            }
            var cycle = walk.Skip(seen[v]).Reverse().ToList();
            var steps = string.Join("; ", cycle.Select(e =>
                $"{statements[e.To].Describe()} must run after {statements[e.From].Describe()} ({e.Why})"));
            return new AuditQueryException(
                "cannot order the statements for the foreign keys: rows depend on each other in a cycle through constraints checked at each " +
                $"statement (NOT DEFERRABLE, or an ON DELETE CASCADE that would remove a row the plan still writes), so no order of them is accepted: {steps}. " +
                "Nothing was changed (a DEFERRABLE constraint is checked at commit instead)");
        }
    }
}
