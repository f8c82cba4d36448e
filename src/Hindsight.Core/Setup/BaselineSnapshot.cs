using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hindsight.Capture;
using Hindsight.Capture.Baseline;
using Hindsight.Capture.Rendering;
using Hindsight.Postgres;
using Hindsight.Sink;
using Hindsight.Stitch;
using Npgsql;
using Npgsql.Replication;

namespace Hindsight.Setup;

/// <summary>
/// <c>setup --snapshot</c>: creates the slot with an exported snapshot and copies every published table, read in that
/// snapshot, into the store as SNAPSHOT rows — so the baseline holds exactly the transactions committed before the
/// slot's consistent point, and the slot streams exactly those committed after it: none is missed or counted twice.
/// </summary>
/// <remarks>
/// <para>
/// The rows' commit time is the source's clock read just before the slot is created. Every transaction the slot streams
/// commits later: one whose commit time was taken earlier already held its transaction id before the slot's first
/// running-transactions record, and the slot becomes consistent only after such transactions end — so it is in the
/// snapshot. Ordering by (committed_at, commit_lsn, ordinal) therefore puts the baseline before every streamed change.
/// </para>
/// <para>
/// Rows are rendered by the capture's own <see cref="RowImageWriter"/> from COPY's text output (the same text pgoutput
/// sends), under the same column rules, so a row reads the same whether it came from the baseline or the stream.
/// If anything fails the store transaction is rolled back and the new slot dropped: setup can simply be run again.
/// </para>
/// </remarks>
internal static partial class BaselineSnapshot
{
    /// <summary>Creates the slot (<see cref="Configuration.ConnectionOptions.Slot"/>) and stores the baseline; returns what was stored.</summary>
    public static async Task<BaselineReport> CreateSlotAndCopyAsync(string sourceConnectionString, NpgsqlDataSource source,
        NpgsqlDataSource store, SetupOptions options, string sourceName, string database, CancellationToken ct)
    {
        var rules = new ColumnRules(options.IgnoreColumns, options.RedactColumns);
        DateTime takenAt;
        var clock = source.CreateCommand("SELECT clock_timestamp()");
        await using (clock.ConfigureAwait(false))
            takenAt = (DateTime)(await clock.ExecuteScalarAsync(ct).ConfigureAwait(false))!;

        // The snapshot stays valid while this connection lives and runs nothing else.
        var replication = new LogicalReplicationConnection(SourceSession.Apply(sourceConnectionString));
        await using var replicationDisposal = replication.ConfigureAwait(false);
        await replication.Open(ct).ConfigureAwait(false);
        PgOutputReplicationSlotInfo slot;
        try
        {
            var created = await replication.CreatePgOutputReplicationSlot(options.Slot,
                slotSnapshotInitMode: LogicalSlotSnapshotInitMode.Export, cancellationToken: ct).ConfigureAwait(false);
            slot = new PgOutputReplicationSlotInfo((ulong)created.ConsistentPoint, created.SnapshotName);
        }
        catch (PostgresException e)
        {
            throw new SetupException(
                $"the publication and store are ready, but the slot {options.Slot} could not be created: {e.MessageText}" +
                (e.Hint is null ? "" : $" ({e.Hint})"), e);
        }
        try
        {
            var tables = await CopyAsync(sourceConnectionString, source, store, options, rules, sourceName, database,
                slot.SnapshotName ?? throw new SetupException("the server exported no snapshot with the new slot"), slot.Lsn, takenAt, ct).ConfigureAwait(false);
            return new BaselineReport(PgNames.FormatLsn(slot.Lsn), new DateTimeOffset(takenAt, TimeSpan.Zero), true, tables);
        }
        catch (Exception e)
        {
            // Half a baseline is worse than none: the store transaction is rolled back; the slot goes too, so that
            // running setup again takes a fresh snapshot (a slot's snapshot can only be had when it is created).
            await replication.DisposeAsync().ConfigureAwait(false);
            await DropSlotAsync(source, options.Slot).ConfigureAwait(false);
            if (e is OperationCanceledException or SetupException) throw;
            throw new SetupException($"the baseline could not be taken, so the slot {options.Slot} was dropped again and nothing was stored: {e.Message}", e);
        }
    }

    private sealed record PgOutputReplicationSlotInfo(ulong Lsn, string? SnapshotName);

    private static async Task<List<BaselineTable>> CopyAsync(string sourceConnectionString, NpgsqlDataSource source, NpgsqlDataSource store,
        SetupOptions options, ColumnRules rules, string sourceName, string database, string snapshotName, ulong lsn, DateTime takenAt, CancellationToken ct)
    {
        // The snapshot's name is a literal in SET TRANSACTION SNAPSHOT (no parameters there): it comes from the server,
        // and is checked to be the hex-and-dashes form PostgreSQL gives it before it is spliced in.
        if (!SnapshotName().IsMatch(snapshotName)) throw new SetupException($"unexpected snapshot name from the server: {snapshotName}");
        var reader = new NpgsqlConnection(SourceSession.Apply(sourceConnectionString));
        await using var readerDisposal = reader.ConfigureAwait(false);
        await reader.OpenAsync(ct).ConfigureAwait(false);
        var rtx = await reader.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct).ConfigureAwait(false);
        await using var rtxDisposal = rtx.ConfigureAwait(false);
        var set = new NpgsqlCommand($"SET TRANSACTION SNAPSHOT '{snapshotName}'", reader, rtx);
        await using (set.ConfigureAwait(false))
            await set.ExecuteNonQueryAsync(ct).ConfigureAwait(false);

        var published = await PublishedTables.ReadAsync(reader, rtx, options.Publication, new PgTypeCatalog(source), ct).ConfigureAwait(false);

        var storeConn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var storeConnDisposal = storeConn.ConfigureAwait(false);
        byte[] redactionKey;
        var key = new NpgsqlCommand("SELECT value FROM hindsight.settings WHERE name = 'redaction_key'", storeConn);
        await using (key.ConfigureAwait(false))
            redactionKey = await key.ExecuteScalarAsync(ct).ConfigureAwait(false) is string hex ? Convert.FromHexString(hex) : [];
        var images = new RowImageWriter(redactionKey);

        var writer = new BaselineWriter(storeConn, sourceName, database, options.Slot, lsn, takenAt);
        await using var writerDisposal = writer.ConfigureAwait(false);
        await writer.BeginAsync(ct).ConfigureAwait(false);
        var tables = new List<BaselineTable>(published.Count);
        var estimate = options.Progress is null ? null : await EstimateRowsAsync(reader, rtx, published, ct).ConfigureAwait(false);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long copied = 0;
        foreach (var (table, index) in published.Select((t, i) => (t, i + 1)))
        {
            var relation = table.Relation;
            var name = $"{relation.Schema}.{relation.Table}";
            var actions = rules.IsEmpty ? null : rules.For(relation);
            long rows = 0;
            using (var copy = await reader.BeginTextExportAsync(table.CopySql, ct).ConfigureAwait(false))
            {
                while (await copy.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
                {
                    var values = CopyTextDecoder.Decode(line, relation.Columns.Count);
                    await writer.AddAsync(relation.Schema, relation.Table, images.PrimaryKey(relation, values),
                        images.Render(relation, values, actions), ct).ConfigureAwait(false);
                    rows++;
                    if (++copied % ProgressEvery == 0) options.Progress?.Report(new BaselineProgress(name, index, published.Count, copied, estimate, clock.Elapsed, false));
                }
            }
            options.Progress?.Report(new BaselineProgress(name, index, published.Count, copied, estimate, clock.Elapsed, true));
            writer.TableDone(relation.Schema, relation.Table, rows);
            tables.Add(new BaselineTable(relation.Schema, relation.Table, rows));
        }
        var rulesJson = new JsonObject
        {
            ["ignore"] = new JsonArray(options.IgnoreColumns.Select(c => (JsonNode)JsonValue.Create(c)).ToArray()),
            ["redact"] = new JsonArray(options.RedactColumns.Select(c => (JsonNode)JsonValue.Create(c)).ToArray()),
        };
        await writer.CommitAsync(rulesJson.ToJsonString(), ct).ConfigureAwait(false);
        await rtx.CommitAsync(ct).ConfigureAwait(false);
        return tables;
    }

    /// <summary>Rows between two progress reports of the copy.</summary>
    private const int ProgressEvery = 5_000;

    /// <summary>PostgreSQL's estimate of the tables' rows, for an ETA; null when one was never analysed (reltuples -1).</summary>
    private static async Task<long?> EstimateRowsAsync(NpgsqlConnection reader, NpgsqlTransaction tx, IReadOnlyList<PublishedTable> published, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand("SELECT CASE WHEN bool_or(reltuples < 0) THEN NULL ELSE sum(reltuples)::bigint END FROM pg_class WHERE oid = ANY($1)", reader, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.Add(new NpgsqlParameter { Value = published.Select(t => t.Relation.Id).ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Oid });
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is long n ? n : null;
    }

    private static async Task DropSlotAsync(NpgsqlDataSource source, string slot)
    {
        try
        {
            var cmd = source.CreateCommand("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1");
            await using var cmdDisposal = cmd.ConfigureAwait(false);
            cmd.Parameters.AddWithValue(slot);
            await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch (PostgresException) { /* reported with the original error; teardown can drop it */ }
    }

    [GeneratedRegex("^[0-9A-Fa-f-]+$")]
    private static partial Regex SnapshotName();
}
