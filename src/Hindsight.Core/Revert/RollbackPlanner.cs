using System.Text.Json.Nodes;
using Hindsight.Model;
using Hindsight.Query;
using Npgsql;

namespace Hindsight.Revert;

/// <summary>
/// Plans a rollback of chosen tables to a moment (docs/design.md, "Revert and rollback rules"; <see cref="RevertSelection.RollbackTo"/>): each row the trail
/// knows is made as <see cref="AuditTrail.AsOfAsync(TableName, DateTimeOffset, string?, string?, string?, CancellationToken)"/> says it was then — deleted when it did not exist, inserted when it
/// existed but does not now, updated when it differs. Backward or forward in time alike: the target is a state, not the
/// inverse of changes.
/// </summary>
/// <remarks>
/// <para>
/// Only rows the trail knows are touched. Without a baseline (<see cref="AsOfResult.Complete"/> false) a source row
/// whose key the trail never saw was there before tracking began and never changed since: it is left as it is, and the
/// plan says so. With a baseline such a row was inserted after the store last caught up: a conflict.
/// </para>
/// <para>
/// Refused, because the state at the moment cannot be known: a row whose first stored change is an UPDATE or DELETE after
/// the moment (it existed before tracking began, and nothing of it then is stored), and a TRUNCATE after the moment
/// without a baseline (it removed rows the trail may never have seen).
/// </para>
/// <para>
/// Order, for foreign keys among the chosen tables: first by table (<see cref="RollbackOrder"/>) — deletes in tables no
/// chosen table references, inserts parents first, updates, then deletes in referenced tables children first — then row
/// by row (<see cref="RevertOrder"/>): a row is written after the row it references exists, and a referenced row goes
/// after the rows referencing it moved off or went, so self-referencing trees and rows moved between parents work;
/// applying also defers the deferrable constraints. Rows that reference each other in a cycle through NOT DEFERRABLE keys
/// are refused at plan time. Not handled: non-deferrable foreign keys from tables that are not rolled, and unique values
/// (other than the key) that moved between rows — PostgreSQL refuses those, and the rollback changes nothing.
/// </para>
/// </remarks>
internal static class RollbackPlanner
{
    private const int Shown = 5;

    public static async Task<RevertPlan> PlanAsync(NpgsqlDataSource store, NpgsqlConnection src, string source, RevertSelection selection,
        CancellationToken ct)
    {
        var target = selection.RollbackTo!;
        var at = target.At.ToUniversalTime();
        var notes = new List<string>();
        var conflicts = new List<RevertConflict>();
        var tables = new Dictionary<(string, string), RevertTable>();
        var names = new List<TableName>();
        foreach (var given in target.Tables)
        {
            var name = await ResolveAsync(store, src, source, given, ct).ConfigureAwait(false);
            if (names.Contains(name)) throw new AuditQueryException($"{name} is named twice");
            await RequireNotPrunedAsync(store, source, name, at, ct).ConfigureAwait(false);
            names.Add(name);
            tables[(name.Schema!, name.Name)] = await RevertTable.LoadAsync(src, name.Schema!, name.Name, ct).ConfigureAwait(false);
        }
        // One read of the foreign keys among the tables: for the order of the tables, then of the rows.
        var keys = await ForeignKey.LoadAsync(src, names, ct).ConfigureAwait(false);
        var order = RollbackOrder.From(names, keys);

        var planned = new Dictionary<TableName, TableStatements>();
        foreach (var name in names)
            planned[name] = await PlanTableAsync(store, src, source, tables[(name.Schema!, name.Name)], at, notes, conflicts, ct).ConfigureAwait(false);

        var statements = new List<RevertStatement>();
        var childrenFirst = order.ParentsFirst.Reverse().ToList();
        foreach (var t in childrenFirst.Where(t => !order.Referenced.Contains(t))) statements.AddRange(planned[t].Deletes);
        foreach (var t in order.ParentsFirst) statements.AddRange(planned[t].Inserts);
        foreach (var t in order.ParentsFirst) statements.AddRange(planned[t].Updates);
        foreach (var t in childrenFirst.Where(order.Referenced.Contains)) statements.AddRange(planned[t].Deletes);
        statements = RevertOrder.Order(statements, tables, keys);
        if (statements.Count == 0) notes.Add($"the rows the trail knows are already as they were at {target.AtText}: nothing to do");
        return new RevertPlan(selection, statements, conflicts, notes.Distinct().ToList()) { Tables = tables, RollbackTables = names };
    }

    /// <summary>A rollback to a moment before a prune's horizon would write the state of rows whose changes are gone.</summary>
    private static async Task RequireNotPrunedAsync(NpgsqlDataSource store, string source, TableName table, DateTimeOffset at, CancellationToken ct)
    {
        var conn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        PrunedHistory.RequireAfter(await PrunedHistory.HorizonAsync(conn, source, table.Schema, table.Name, ct).ConfigureAwait(false), table, at, "a rollback");
    }

    private sealed record TableStatements(List<RevertStatement> Deletes, List<RevertStatement> Inserts, List<RevertStatement> Updates);

    private static async Task<TableStatements> PlanTableAsync(NpgsqlDataSource store, NpgsqlConnection src, string source, RevertTable t,
        DateTimeOffset at, List<string> notes, List<RevertConflict> conflicts, CancellationToken ct)
    {
        var when = at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        await RevertSchemaGuard.CheckRollbackAsync(store, source, t.Name, at, when, ct).ConfigureAwait(false);
        var asOf = await new AuditTrail(store).AsOfAsync(t.Name, at, null, null, source, ct).ConfigureAwait(false);
        var truncates = await RollbackTrail.TruncatesAsync(store, source, t.Name, at, ct).ConfigureAwait(false);
        if (truncates.After && !asOf.Complete)
            throw new AuditQueryException(
                $"cannot roll {t.Name} to {when}: a TRUNCATE after that moment removed its rows, and without a baseline (setup --snapshot) " +
                "the trail does not hold the rows that were never changed since tracking began");
        var keys = await RollbackTrail.KeysAsync(store, source, t.Name, at, ct).ConfigureAwait(false);

        // Each known row's state at the moment: its as-of image, known absent, or unknown.
        var images = asOf.Rows.ToDictionary(r => r.PrimaryKey, r => r.Row);
        var targets = new List<JsonObject?>(keys.Count);
        var unknown = new List<string>();
        foreach (var k in keys)
        {
            if (images.TryGetValue(k.PrimaryKey, out var row)) targets.Add(row);
            else if (k.FirstAtOrBefore || truncates.AtOrBefore || MadeTheRow(k, t)) targets.Add(null);
            else { unknown.Add(k.PrimaryKey); targets.Add(null); }
        }
        if (unknown.Count > 0)
            throw new AuditQueryException(
                $"cannot roll {t.Name} to {when}: the state then of {unknown.Count} row(s) (keys {List(unknown)}) is unknown — each existed before " +
                "tracking began and was first changed after that moment, and no baseline (setup --snapshot) holds it; roll to a later moment");

        // Compared and written: only the values the trail holds (no redacted digest, no TOAST placeholder).
        var newestHeld = keys.Select(k => HeldKeyImage(t, k, when)).ToList();
        var (live, untracked) = await RollbackSource.ReadAsync(src, t, newestHeld,
            targets.Select(i => i is null ? null : TrailValue.Held(i).ToJsonString()).ToList(),
            keys.Select((k, i) => k.NewestPresent ? newestHeld[i] : null).ToList(), ct).ConfigureAwait(false);

        var result = new TableStatements([], [], []);
        for (var i = 0; i < keys.Count; i++)
        {
            var (key, image, now) = (keys[i].PrimaryKey, targets[i], live[i]);
            // The trail's newest state of the row should be the source's: otherwise the store is behind (or the key moved).
            var behind = (keys[i].NewestPresent, now.Live) switch
            {
                (true, null) => "the row is gone from the source, but the trail does not show it deleted",
                (false, not null) => "the row exists in the source, but the trail's last change removed it",
                (true, _) when !now.SameAsNewest => "the row in the source differs from the trail's newest image of it",
                _ => null,
            };
            if (behind is not null)
                conflicts.Add(new RevertConflict(t.Name, key, behind + " (changed since and not yet in the store, or its key was changed: catch up first)", null));

            if (image is null && now.Live is not null) result.Deletes.Add(Delete(t, key, now.Live));
            else if (image is not null && now.Live is null) result.Inserts.Add(Insert(t, key, image, when, notes));
            // Same on the columns the trail holds: nothing to do (whatever an untracked column holds, it cannot be set back).
            else if (image is not null && now.Live is not null && !now.SameAsTarget && Update(t, key, image, now.Live, notes) is { } update)
                result.Updates.Add(update);
        }

        if (untracked.Count > 0)
        {
            var untrackedKeys = untracked.Select(row => KeyText(t, row)).ToList();
            if (asOf.Complete)
            {
                // A baseline holds every row that existed before tracking: a row the trail never saw came after it.
                for (var i = 0; i < untracked.Count; i++)
                {
                    conflicts.Add(new RevertConflict(t.Name, untrackedKeys[i],
                        "the row is not in the trail although a baseline is stored: it was inserted since the store last caught up (catch up first)", null));
                    result.Deletes.Add(Delete(t, untrackedKeys[i], untracked[i]));
                }
            }
            else
                notes.Add($"{t.Name}: {untracked.Count} row(s) are not in the trail (unchanged since tracking began, or not captured yet) and are left " +
                          $"as they are (keys {List(untrackedKeys)}); {asOf.CompletenessNote}");
        }
        return result;
    }

    /// <summary>Whether the row's first stored change brought it into being: a CREATE, or an UPDATE that moved another row to this key.</summary>
    private static bool MadeTheRow(RollbackKey k, RevertTable t)
    {
        if (k.FirstOperation == "CREATE") return true;
        if (k.FirstOperation != "UPDATE" || k.FirstBefore is null || k.FirstAfter is null) return false;
        var before = JsonNode.Parse(k.FirstBefore) as JsonObject;
        var after = JsonNode.Parse(k.FirstAfter) as JsonObject;
        if (before is null || after is null || t.Key.Any(c => !before.ContainsKey(c) || !after.ContainsKey(c))) return false;
        return t.Key.Any(c => !JsonEquality.JsonbEquals(before[c], after[c]));
    }

    private static RevertStatement Delete(RevertTable t, string key, string live) =>
        new(t.Name, key, "DELETE", $"DELETE FROM {t.Quoted} AS t USING {t.Image("$1")} AS a WHERE {t.KeyMatch("t", "a")}", [live])
        {
            Expected = new RowExpectation(live, live),
        };

    /// <summary>The newest image of a known row with only the values the trail holds; refused when its key is not held.</summary>
    private static string HeldKeyImage(RevertTable t, RollbackKey k, string when)
    {
        if (JsonNode.Parse(k.NewestImage) is not JsonObject image) return k.NewestImage;
        UntrackedColumns.RequireHeldKey(image, t, $"cannot roll {t.Name} to {when}");
        return TrailValue.Held(image).ToJsonString();
    }

    private static RevertStatement Insert(RevertTable t, string key, JsonObject stored, string when, List<string> notes)
    {
        UntrackedColumns.ForInsert(stored, t, $"cannot roll {t.Name} to {when} (key {key})", notes);
        var image = TrailValue.Held(stored);
        var columns = RevertStatements.Usable(image, t, notes);
        var list = string.Join(", ", columns.Select(Postgres.PgNames.Quote));
        // Identity ALWAYS columns refuse explicit values unless told: the row must come back with its own id.
        var overriding = columns.Any(t.IdentityAlways.Contains) ? " OVERRIDING SYSTEM VALUE" : "";
        var text = image.ToJsonString();
        return new(t.Name, key, "INSERT", $"INSERT INTO {t.Quoted} ({list}){overriding} SELECT {list} FROM {t.Image("$1")} AS b", [text])
        {
            Expected = new RowExpectation(text, null),
        };
    }

    private static RevertStatement? Update(RevertTable t, string key, JsonObject stored, string live, List<string> notes)
    {
        UntrackedColumns.ForRowUpdate(stored, t, notes);
        var image = TrailValue.Held(stored);
        // Every column of the image the trail holds, not only the differing ones: the row ends as it was then even when
        // forced over a later change.
        var columns = RevertStatements.Usable(image, t, notes).Where(c => !t.Key.Contains(c)).ToList();
        var current = JsonNode.Parse(live) as JsonObject ?? [];
        foreach (var col in columns.Where(t.IdentityAlways.Contains).Where(c => !JsonEquality.JsonbEquals(image[c], current[c])))
            notes.Add($"{t.Name}: identity ALWAYS column {col} cannot be set back by an UPDATE; left as it is");
        columns.RemoveAll(t.IdentityAlways.Contains);
        if (columns.Count == 0) return null;
        var set = string.Join(", ", columns.Select(c => $"{Postgres.PgNames.Quote(c)} = b.{Postgres.PgNames.Quote(c)}"));
        return new(t.Name, key, "UPDATE", $"UPDATE {t.Quoted} AS t SET {set} FROM {t.Image("$1")} AS b WHERE {t.KeyMatch("t", "b")}",
            [image.ToJsonString()])
        {
            Expected = new RowExpectation(live, live),
        };
    }

    /// <summary>A source row's key in the store's form: the value's text, or a JSON array of a composite key's values.</summary>
    private static string KeyText(RevertTable t, string row)
    {
        var image = JsonNode.Parse(row) as JsonObject ?? [];
        if (t.Key.Count == 1)
            return image[t.Key[0]] is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String ? v.GetValue<string>() : image[t.Key[0]]?.ToJsonString() ?? "null";
        return new JsonArray(t.Key.Select(k => image[k]?.DeepClone()).ToArray()).ToJsonString();
    }

    private static string List(IReadOnlyList<string> keys) =>
        string.Join(", ", keys.Take(Shown)) + (keys.Count > Shown ? $", … ({keys.Count - Shown} more)" : "");

    /// <summary>A bare name resolved to its schema: the one the store holds it under, else the source's search path.</summary>
    private static async Task<TableName> ResolveAsync(NpgsqlDataSource store, NpgsqlConnection src, string source, TableName name, CancellationToken ct)
    {
        if (name.Schema is not null) return name;
        var schemas = new List<string>();
        {
            var cmd = store.CreateCommand("SELECT DISTINCT c.schema FROM hindsight.changes c WHERE c.source = $1 AND c.\"table\" = $2 LIMIT 2");
            await using (cmd.ConfigureAwait(false))
            {
                cmd.Parameters.Add(new NpgsqlParameter { Value = source });
                cmd.Parameters.Add(new NpgsqlParameter { Value = name.Name });
                var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var rDisposal = r.ConfigureAwait(false);
                while (await r.ReadAsync(ct).ConfigureAwait(false)) schemas.Add(r.GetString(0));
            }
        }
        if (schemas.Count > 1)
            throw new AuditQueryException($"table {name} is ambiguous: the store holds it in more than one schema; name its schema (schema.table)");
        if (schemas.Count == 1) return new TableName(schemas[0], name.Name);
        {
            var cmd = new NpgsqlCommand(
                "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND c.relkind IN ('r', 'p') AND pg_table_is_visible(c.oid)", src);
            await using (cmd.ConfigureAwait(false))
            {
                cmd.Parameters.Add(new NpgsqlParameter { Value = name.Name });
                if (await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is string schema) return new TableName(schema, name.Name);
            }
        }
        throw new AuditQueryException($"cannot roll {name} back: no such table in the source database {src.Database}");
    }
}
