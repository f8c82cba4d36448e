using System.Diagnostics;
using System.Text.Json.Nodes;
using Hindsight.Context;
using Hindsight.Diagnostics;
using Hindsight.Model;
using Hindsight.Query;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Revert;

/// <summary>
/// Revert: the inverse statements of a selection of stored changes, newest first (reordered row by row where
/// foreign keys need it, see <see cref="RevertOrder"/>), checked for conflicts
/// against the store and the source, applied in one source transaction that carries its own context
/// (<c>{"hindsight":{"revertOf":…}}</c>). The same plan, check and apply serve a rollback of chosen tables to a moment
/// (<see cref="RevertSelection.RollbackTo"/>): each row the trail knows made as it was then.
/// </summary>
/// <remarks>
/// Row images go back to typed values through PostgreSQL itself (<c>jsonb_populate_record(NULL::table, image)</c>), so
/// every type round-trips as <c>to_jsonb</c> wrote it. Identifiers are quoted; images and keys travel only as parameters.
/// </remarks>
/// <param name="store">The store database (schema <c>hindsight</c>).</param>
/// <param name="source">The tracked database the changes were made in, and that the revert writes to.</param>
/// <param name="sourceName">
/// Its name in the store; null: found from the database's identity (its server's system identifier and its name). Only
/// changes of that source are reverted, whatever else the store holds.
/// </param>
public sealed class Reverter(NpgsqlDataSource store, NpgsqlDataSource source, string? sourceName = null)
{
    /// <summary>
    /// Where <see cref="ApplyAsync"/> reports how far it has come (rows checked, statements run), for a big revert or
    /// rollback; called on the applying thread, so a slow receiver slows the revert.
    /// </summary>
    public IProgress<RevertProgress>? Progress { get; init; }

    private readonly NpgsqlDataSource _store = store ?? throw new ArgumentNullException(nameof(store));
    private readonly NpgsqlDataSource _source = source ?? throw new ArgumentNullException(nameof(source));

    /// <summary>
    /// Builds the plan: the inverse statements (newest change first), or for a rollback the statements that make each
    /// known row as it was at the moment, in an order the foreign keys among their tables accept (a row after the row it
    /// references, a referenced row removed after the rows referencing it); the conflicts and notes. Changes nothing.
    /// </summary>
    /// <exception cref="ArgumentException">The selection is not exactly one kind, or selects everything.</exception>
    /// <exception cref="AuditQueryException">
    /// Nothing matches; the selection holds a TRUNCATE (its rows are not in the trail); a table has no primary key; or an
    /// image needed to undo a change is missing. For a rollback: a table is unknown or has no primary key, or the state at
    /// the moment of a row it would change is not in the trail (see <see cref="RollbackTarget"/>). For both: no order of the
    /// statements satisfies the NOT DEFERRABLE foreign keys (rows that reference each other in a cycle); the message names
    /// the constraint and the rows.
    /// </exception>
    public Task<RevertPlan> PlanAsync(RevertSelection selection, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(selection);
        selection.Validate();
        return HindsightTracing.TraceAsync("hindsight.revert.plan", [HindsightTracing.Tag("hindsight.selection", selection.Describe())],
            () => PlanCoreAsync(selection, ct),
            plan => [HindsightTracing.Tag("hindsight.statements", plan.Statements.Count), HindsightTracing.Tag("hindsight.conflicts", plan.Conflicts.Count)]);
    }

    /// <summary>When the source's trail was pruned, what a selection that matched nothing may have needed.</summary>
    private async Task<string> PrunedNoteAsync(string source, CancellationToken ct)
    {
        var conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        return await PrunedHistory.HorizonAsync(conn, source, null, null, ct).ConfigureAwait(false) is { } horizon
            ? $" (its changes committed before {PrunedHistory.Text(horizon)} were pruned: a revert that needs one of them cannot be made)"
            : "";
    }

    private async Task<RevertPlan> PlanCoreAsync(RevertSelection selection, CancellationToken ct)
    {
        var src = await _source.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var srcDisposal = src.ConfigureAwait(false);
        var name = await SourceNameAsync(src, ct).ConfigureAwait(false);
        if (selection.RollbackTo is not null) return await RollbackPlanner.PlanAsync(_store, src, name, selection, ct).ConfigureAwait(false);
        var changes = await SelectAsync(selection, name, ct).ConfigureAwait(false);
        if (changes.Count == 0) throw new AuditQueryException($"nothing to revert: no stored change of source {name} matches the selection" +
                                                              await PrunedNoteAsync(name, ct).ConfigureAwait(false));
        await RevertSchemaGuard.CheckAsync(_store, src, name, changes, ct).ConfigureAwait(false);

        var notes = new List<string>();
        var tables = new Dictionary<(string, string), RevertTable>();
        var statements = new List<RevertStatement>();
        foreach (var c in changes)
        {
            if (c.Operation is Operation.Truncate)
                throw new AuditQueryException(
                    $"cannot revert change {c.Id}: a TRUNCATE of {new TableName(c.Schema, c.Table)} is not revertible from the trail alone " +
                    "(it does not hold the rows the TRUNCATE removed); narrow the selection to leave it out");
            if (c.Operation is Operation.Snapshot) { notes.Add($"change {c.Id} is a baseline SNAPSHOT, not a change: nothing to undo"); continue; }
            if (c.PrimaryKey is null)
                throw new AuditQueryException($"cannot revert change {c.Id}: {new TableName(c.Schema, c.Table)} had no primary key when it was captured");
            if (!tables.TryGetValue((c.Schema, c.Table), out var table))
                tables[(c.Schema, c.Table)] = table = await RevertTable.LoadAsync(src, c.Schema, c.Table, ct).ConfigureAwait(false);
            if (RevertStatements.Inverse(c, table, notes) is { } statement) statements.Add(statement);
        }
        statements = await RevertOrder.OrderAsync(src, statements, tables, ct).ConfigureAwait(false);
        var conflicts = await RevertConflicts.FindAsync(_store, src, changes, tables, ct).ConfigureAwait(false);
        return new RevertPlan(selection, statements, conflicts, notes.Distinct().ToList()) 
        {
            Tables = tables,
            NewestPerRow = changes.Where(c => c.PrimaryKey is not null && c.Operation is Operation.Create or Operation.Update or Operation.Delete)
                .DistinctBy(c => (c.Schema, c.Table, c.PrimaryKey)).ToList(),
        };
    }

    /// <summary>
    /// Applies <paramref name="plan"/> in one source transaction, after a context message naming what it reverts merged
    /// into <paramref name="context"/> (e.g. who asked). With <paramref name="dryRun"/> only the SQL is returned.
    /// </summary>
    /// <exception cref="AuditQueryException">
    /// The plan has conflicts and <paramref name="force"/> is false; or (unless forced) a row is no longer as the plan saw
    /// it, or a statement did not change exactly one row (the row changed since the plan was made); or PostgreSQL refused a
    /// statement for a constraint (e.g. a foreign key from a table not rolled back), at once or at commit for a deferrable
    /// one (every apply defers them): then nothing is changed.
    /// </exception>
    public Task<RevertResult> ApplyAsync(RevertPlan plan, JsonObject? context = null, bool force = false, bool dryRun = false,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return HindsightTracing.TraceAsync("hindsight.revert.apply",
            [HindsightTracing.Tag("hindsight.selection", plan.Selection.Describe()), HindsightTracing.Tag("hindsight.statements", plan.Statements.Count),
             HindsightTracing.Tag("hindsight.force", force), HindsightTracing.Tag("hindsight.dry_run", dryRun)],
            () => ApplyCoreAsync(plan, context, force, dryRun, ct),
            result => [HindsightTracing.Tag("hindsight.applied", result.Applied), HindsightTracing.Tag("hindsight.rows", result.RowsAffected.Sum())]);
    }

    private async Task<RevertResult> ApplyCoreAsync(RevertPlan plan, JsonObject? context, bool force, bool dryRun, CancellationToken ct)
    {
        var message = Context(plan, context);
        var sql = plan.Sql(message);
        if (dryRun) return new RevertResult(plan, false, sql, []);
        if (plan.Conflicts.FirstOrDefault(c => c.AlreadyReverted) is { } reverted)
            throw new AuditQueryException(
                $"refused: {reverted.Table} key {reverted.PrimaryKey} was {reverted.Reason}; reverting again would write the old values back " +
                $"over that revert (to undo the revert, revert change {reverted.LaterChangeId}); nothing was changed");
        if (plan.Conflicts.Count > 0 && !force)
            throw new AuditQueryException($"refused: {plan.ConflictSummary} (see the conflicts); nothing was changed. Force to overwrite them");

        // The revert's own changes name the trace that made them (this span), unless the caller's context names one:
        // the worker's store commit of them then links back to it, as it does for an application's requests.
        if (Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity && message["traceparent"] is null && message["traceId"] is null)
            message["traceparent"] = activity.Id;
        var conn = await _source.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using var txDisposal = tx.ConfigureAwait(false);
        var emit = new NpgsqlCommand("SELECT pg_logical_emit_message(true, 'hindsight', $1::text)", conn, tx);
        await using (emit.ConfigureAwait(false))
        {
            emit.Parameters.Add(new NpgsqlParameter { Value = message.ToJsonString(), NpgsqlDbType = NpgsqlDbType.Text });
            await emit.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        // Deferrable foreign keys and unique constraints are checked at commit, when every row is as it was then.
        var defer = new NpgsqlCommand(DeferConstraints, conn, tx);
        await using (defer.ConfigureAwait(false))
            await defer.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        if (plan.IsRollback)
        {
            if (!force) await RecheckRollbackAsync(plan, conn, tx, ProgressOf(RevertProgress.Checking, plan.Statements.Count), ct).ConfigureAwait(false);
        }
        else if (!force)
        {
            // The plan may be old: lock each row and check it is still as the selection left it, so a change made since
            // planning is refused rather than overwritten.
            var checking = ProgressOf(RevertProgress.Checking, plan.NewestPerRow.Count);
            foreach (var newest in plan.NewestPerRow)
            {
                checking.Step();
                if (!plan.Tables.TryGetValue((newest.Schema, newest.Table), out var t)) continue;
                if (await RevertConflicts.SourceDiffersAsync(conn, tx, t, newest, forUpdate: true, ct).ConfigureAwait(false) is { } why)
                    throw new AuditQueryException(
                        $"refused: {t.Name} key {newest.PrimaryKey}: {why} (changed since the plan was made); nothing was changed. Force to overwrite it");
            }
            checking.Finish();
        }
        var affected = new List<int>();
        var applying = ProgressOf(RevertProgress.Applying, plan.Statements.Count);
        foreach (var s in plan.Statements)
        {
            applying.Step();
            var cmd = new NpgsqlCommand(s.Sql, conn, tx);
            await using var cmdDisposal = cmd.ConfigureAwait(false);
            foreach (var p in s.Parameters) cmd.Parameters.Add(new NpgsqlParameter { Value = p, NpgsqlDbType = NpgsqlDbType.Text });
            int n;
            try { n = await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false); }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.ForeignKeyViolation or PostgresErrorCodes.UniqueViolation
                                                  or PostgresErrorCodes.NotNullViolation or PostgresErrorCodes.CheckViolation)
            {
                // A constraint the plan could not order around (or a row inserted since): the transaction rolls back whole.
                throw new AuditQueryException($"refused by PostgreSQL while {s.Describe()}: {e.MessageText}; nothing was changed");
            }
            // Exactly one row each, or the row moved on since planning: roll back rather than half-revert.
            if (n != 1 && !force)
                throw new AuditQueryException(
                    $"refused: {s.Describe()} changed {n} rows instead of 1; the row changed since the plan was made; nothing was changed. Force to apply anyway");
            affected.Add(n);
        }
        applying.Finish();
        try { await tx.CommitAsync(ct).ConfigureAwait(false); }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.ForeignKeyViolation or PostgresErrorCodes.UniqueViolation)
        {
            // A deferred constraint, checked at commit.
            throw new AuditQueryException($"refused by PostgreSQL at commit: {e.MessageText}; nothing was changed");
        }
        return new RevertResult(plan, true, sql, affected);
    }

    /// <summary>The statement that defers the deferrable constraints to commit (every revert and rollback runs it first).</summary>
    internal const string DeferConstraints = "SET CONSTRAINTS ALL DEFERRED";

    /// <summary>
    /// A plan may be old: each row a rollback writes is locked and checked to be still as the plan saw it, so a change
    /// made since planning is refused rather than overwritten.
    /// </summary>
    private static async Task RecheckRollbackAsync(RevertPlan plan, NpgsqlConnection conn, NpgsqlTransaction tx, PhaseProgress checking, CancellationToken ct)
    {
        foreach (var s in plan.Statements)
        {
            checking.Step();
            if (s.Expected is not { } expected || !plan.Tables.TryGetValue((s.Table.Schema!, s.Table.Name), out var t)) continue;
            if (await RollbackSource.ChangedSinceAsync(conn, tx, t, expected, ct).ConfigureAwait(false) is { } why)
                throw new AuditQueryException(
                    $"refused: {t.Name} key {s.PrimaryKey}: {why} (changed since the plan was made); nothing was changed. Force to overwrite it");
        }
        checking.Finish();
    }

    private PhaseProgress ProgressOf(string phase, long total) => new(Progress, phase, total);

    /// <summary>One phase's counter: reports the step about to be taken at most every tenth of a second, and the end.</summary>
    private sealed class PhaseProgress(IProgress<RevertProgress>? progress, string phase, long total)
    {
        private static readonly TimeSpan Every = TimeSpan.FromMilliseconds(100);
        private readonly long _started = Stopwatch.GetTimestamp();
        private TimeSpan _lastReport = -Every; // the first step reports
        private long _done;

        /// <summary>Counts the row or statement just finished (called before each, so the first counts nothing).</summary>
        public void Step()
        {
            if (progress is null) return;
            var elapsed = Stopwatch.GetElapsedTime(_started);
            if (elapsed - _lastReport >= Every)
            {
                _lastReport = elapsed;
                progress.Report(new RevertProgress(phase, _done, total, elapsed));
            }
            _done++;
        }

        public void Finish() => progress?.Report(new RevertProgress(phase, _done, total, Stopwatch.GetElapsedTime(_started)));
    }

    /// <summary>
    /// The caller's context with <c>hindsight.revertOf</c> set to the selection (and the reverted change ids), or for a
    /// rollback to <c>{"rollbackTo": moment, "tables": [schema.table, …]}</c>.
    /// </summary>
    internal static JsonObject Context(RevertPlan plan, JsonObject? context)
    {
        var message = context?.DeepClone() as JsonObject ?? [];
        var revertOf = plan.Selection.ToJson();
        if (plan.IsRollback)
            revertOf["tables"] = new JsonArray(plan.RollbackTables.Select(t => (JsonNode)JsonValue.Create(t.ToString())).ToArray());
        else
            RevertedChanges(revertOf, plan.Statements.Select(s => s.Change!.Id).ToList());
        if (message[HindsightProtocol.ContextKey] is not JsonObject hindsight) message[HindsightProtocol.ContextKey] = hindsight = [];
        hindsight["revertOf"] = revertOf;
        return message;
    }

    /// <summary>Most change ids a revert's context lists one by one (<c>changes</c>).</summary>
    internal const int MaxListedChanges = 100;

    /// <summary>Most id ranges it lists instead (<c>changeRanges</c>).</summary>
    internal const int MaxChangeRanges = 100;

    /// <summary>
    /// Which changes a revert undoes, in its context, which every one of its stored changes carries: so it must stay small
    /// however big the revert (8,000 ids copied onto 8,000 changes would store 400 MB). Up to
    /// <see cref="MaxListedChanges"/> ids as a list; more as <c>[first, last]</c> ranges of consecutive ids (a transaction's
    /// changes are usually one range), up to <see cref="MaxChangeRanges"/>; beyond that only the count, and a later plan
    /// sees those rows as changed later rather than already reverted (still refused without force). Always the count.
    /// </summary>
    private static void RevertedChanges(JsonObject revertOf, List<long> ids)
    {
        revertOf["changeCount"] = ids.Count;
        if (ids.Count <= MaxListedChanges)
        {
            revertOf["changes"] = new JsonArray(ids.Select(id => (JsonNode)JsonValue.Create(id)).ToArray());
            return;
        }
        var ranges = new List<(long First, long Last)>();
        foreach (var id in ids.Distinct().Order())
        {
            if (ranges.Count > 0 && ranges[^1].Last + 1 == id) ranges[^1] = (ranges[^1].First, id);
            else ranges.Add((id, id));
        }
        if (ranges.Count <= MaxChangeRanges)
            revertOf["changeRanges"] = new JsonArray(ranges.Select(r => (JsonNode)new JsonArray(r.First, r.Last)).ToArray());
    }

    /// <summary>
    /// The store's name of the database a revert writes to. Its changes are the only ones it may plan from: another
    /// source's rows of a same-named table are other rows.
    /// </summary>
    private async Task<string> SourceNameAsync(NpgsqlConnection src, CancellationToken ct)
    {
        try
        {
            var identity = await Store.SourceIdentity.ReadAsync(src, null, ct).ConfigureAwait(false);
            return await Store.SourceRegistry.FindNameAsync(_store, identity, sourceName, ct).ConfigureAwait(false)
                ?? throw new AuditQueryException(sourceName is null
                    ? $"nothing to revert: {identity} is not a source of this store (nothing of it is stored)"
                    : $"nothing to revert: the store has no source named {sourceName}");
        }
        catch (Store.SourceNameException e) { throw new AuditQueryException(e.Message); }
    }

    private async Task<List<Change>> SelectAsync(RevertSelection s, string source, CancellationToken ct)
    {
        var p = new ChangeSql.Parameters();
        var where = s switch
        {
            { ChangeId: { } id } => $"c.id = {p.Add(id, NpgsqlDbType.Bigint)}",
            { TransactionId: { } xid } => $"c.transaction_id = {p.Add(xid, NpgsqlDbType.Bigint)}",
            { CommitLsn: { } lsn } => $"c.commit_lsn = {p.Add(lsn, NpgsqlDbType.Bigint)}",
            _ => ChangeSql.Where(s.Filter! with { Database = null, Source = null }, p),
        };
        var sql = $"""
            SELECT {ChangeSql.Columns} FROM hindsight.changes c
            WHERE ({where}) AND c.source = {p.Add(source, NpgsqlDbType.Text)}
            ORDER BY c.committed_at DESC, c.commit_lsn DESC, c.ordinal DESC
            """;
        var cmd = _store.CreateCommand(sql);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        p.ApplyTo(cmd);
        return await ChangeSql.ReadAllAsync(cmd, ct).ConfigureAwait(false);
    }
}
