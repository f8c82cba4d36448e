using System.Globalization;
using Npgsql;

namespace Hindsight.Store;

/// <summary>
/// The change table partitioned by commit time: turning a store's <c>hindsight.changes</c> into a partitioned table
/// (instant when it is empty, online when it holds changes), and keeping its partitions ahead of time.
/// </summary>
/// <remarks>
/// Partitioning asks two things of the keys, and both hold the exactly-once guarantee:
/// <list type="bullet">
/// <item>The idempotency key becomes (source, commit_lsn, ordinal, committed_at). A change's commit time is part of what
/// the source's WAL says about its transaction, so a change sent twice has the same commit time both times, goes to the
/// same partition, and meets its first copy there.</item>
/// <item>The primary key becomes (id, committed_at), and <c>id</c> takes its values from the sequence
/// <c>hindsight.change_ids</c> (PostgreSQL before 17 has no identity columns on partitioned tables).</item>
/// </list>
/// A default partition catches a change whose commit time no partition covers (a clock jump, a long outage, a row written
/// by hand), so no change is ever refused; <c>hindsight.maintain_change_partitions()</c> (store migration 10) later moves
/// it into a partition of its own.
/// </remarks>
internal static class ChangePartitions
{
    /// <summary>The table a store's changes are copied into while it is being partitioned.</summary>
    private const string Staging = "changes_partitioned";

    /// <summary>Serialises partitioning steps of one store (an advisory lock key: "hindsight partition").</summary>
    private const long StepLock = 0x68696e6470617274;

    /// <summary>How many changes one copy statement moves while the old table still takes writes.</summary>
    private const int CopyChunk = 100_000;

    /// <summary>The change table's columns, in the order of the unpartitioned table (migrations 1 and 7).</summary>
    private const string Columns =
        """id, database, schema, "table", primary_key, operation, before, after, context, committed_at, transaction_id, position, commit_lsn, ordinal, queued_at, created_at, source""";

    /// <summary>The indexes of the change table, by the suffix their names share; the image indexes only where setup made them.</summary>
    private static readonly string[] IndexSuffixes = ["record_idx", "committed_at_idx", "context_idx", "transaction_idx", "before_idx", "after_idx"];

    /// <summary>
    /// The partitioned change table, its indexes (those of the store migrations, the same for every partition) and its
    /// default partition, under <paramref name="name"/>. Columns in the old table's order, so the copy is column for column.
    /// </summary>
    private static string CreateSql(string name) =>
        $$"""
        CREATE SEQUENCE IF NOT EXISTS hindsight.change_ids AS bigint;
        CREATE TABLE hindsight.{{name}} (
            id              bigint      NOT NULL DEFAULT nextval('hindsight.change_ids'),
            database        text COLLATE "C" NOT NULL,
            schema          text COLLATE "C" NOT NULL,
            "table"         text COLLATE "C" NOT NULL,
            primary_key     text COLLATE "C",
            operation       text        NOT NULL,
            before          jsonb       NOT NULL DEFAULT '{}',
            after           jsonb       NOT NULL DEFAULT '{}',
            context         jsonb       NOT NULL DEFAULT '{}',
            committed_at    timestamptz NOT NULL,
            transaction_id  bigint      NOT NULL,
            position        bigint      NOT NULL,
            commit_lsn      bigint      NOT NULL,
            ordinal         int         NOT NULL,
            queued_at       timestamptz NOT NULL,
            created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
            source          text COLLATE "C" NOT NULL,
            CONSTRAINT changes_operation_check CHECK (operation IN ('CREATE','UPDATE','DELETE','TRUNCATE','SNAPSHOT')),
            CONSTRAINT {{name}}_pkey PRIMARY KEY (id, committed_at),
            CONSTRAINT {{name}}_exactly_once UNIQUE (source, commit_lsn, ordinal, committed_at)
        ) PARTITION BY RANGE (committed_at);
        CREATE INDEX {{name}}_record_idx ON hindsight.{{name}} ("table", primary_key, committed_at, commit_lsn, ordinal)
            INCLUDE (source, database, schema, operation, id);
        CREATE INDEX {{name}}_committed_at_idx ON hindsight.{{name}} USING brin (committed_at) WITH (pages_per_range = 32, autosummarize = on);
        CREATE INDEX {{name}}_context_idx ON hindsight.{{name}} USING gin (context jsonb_path_ops) WHERE context <> '{}';
        CREATE INDEX {{name}}_transaction_idx ON hindsight.{{name}} USING brin (transaction_id int8_minmax_multi_ops)
            WITH (pages_per_range = 32, autosummarize = on);
        CREATE TABLE hindsight.{{name}}_default PARTITION OF hindsight.{{name}} DEFAULT;
        """;

    /// <summary>Whether the store's change table is partitioned, and whether it holds any change.</summary>
    public static async Task<(bool Partitioned, bool HasChanges)> ReadStateAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            "SELECT c.relkind = 'p', EXISTS (SELECT 1 FROM hindsight.changes) FROM pg_class c WHERE c.oid = 'hindsight.changes'::regclass", conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        await r.ReadAsync(ct).ConfigureAwait(false);
        return (r.GetBoolean(0), r.GetBoolean(1));
    }

    /// <summary>Records the period new partitions span. Partitions already made keep theirs.</summary>
    public static async Task SetPeriodAsync(NpgsqlConnection conn, PartitionPeriod period, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            "INSERT INTO hindsight.settings (name, value) VALUES ('partition_period', $1) ON CONFLICT (name) DO UPDATE SET value = excluded.value", conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(Name(period));
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The period's name as the store's settings and the command line spell it.</summary>
    public static string Name(PartitionPeriod period) => period switch
    {
        PartitionPeriod.Day => "day",
        PartitionPeriod.Week => "week",
        _ => "month",
    };

    /// <summary>The period the store's settings name.</summary>
    public static PartitionPeriod Parse(string? name) => name switch
    {
        "day" => PartitionPeriod.Day,
        "week" => PartitionPeriod.Week,
        _ => PartitionPeriod.Month,
    };

    /// <summary>
    /// Turns the store's unpartitioned change table into a partitioned one with the same changes, ids and grants. The
    /// changes are copied in chunks while the old table still takes writes; then, in one transaction that blocks writers
    /// (not readers) for as long as it lasts, the rest is copied, the counts are compared, and the new table takes the
    /// old one's name. Returns how many changes were copied. A failure at any step leaves the old table as it was.
    /// </summary>
    public static async Task<long> PartitionStoreAsync(NpgsqlDataSource store, IProgress<long>? copied, CancellationToken ct)
    {
        var conn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        await ExecAsync(conn, null, $"SELECT pg_advisory_lock({StepLock})", ct).ConfigureAwait(false);
        try
        {
            if ((await ReadStateAsync(conn, ct).ConfigureAwait(false)).Partitioned) return 0;

            // 1. The new table, with a partition for every period that has changes (days in UTC are fine enough for any period).
            var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
            await using (tx.ConfigureAwait(false))
            {
                await ExecAsync(conn, tx, $"DROP TABLE IF EXISTS hindsight.{Staging}", ct).ConfigureAwait(false); // left by a step that failed
                await ExecAsync(conn, tx, CreateSql(Staging), ct).ConfigureAwait(false);
                foreach (var suffix in new[] { "before", "after" })
                    if (await StoreMigrations.HasTableAsync(conn, tx, $"changes_{suffix}_idx", ct).ConfigureAwait(false))
                        await ExecAsync(conn, tx, $"CREATE INDEX {Staging}_{suffix}_idx ON hindsight.{Staging} USING gin ({suffix} jsonb_path_ops)", ct).ConfigureAwait(false);
                await ExecAsync(conn, tx,
                    $"SELECT hindsight.maintain_change_partitions(ARRAY(SELECT DISTINCT date_trunc('day', committed_at, 'UTC') FROM hindsight.changes), 'hindsight.{Staging}')",
                    ct).ConfigureAwait(false);
                await tx.CommitAsync(ct).ConfigureAwait(false);
            }

            // 2. The bulk, in chunks by id, each committed: writers go on into the old table meanwhile.
            long last = await ScalarAsync(conn, null, "SELECT coalesce(min(id) - 1, 0) FROM hindsight.changes", ct).ConfigureAwait(false);
            var end = await ScalarAsync(conn, null, "SELECT coalesce(max(id), 0) FROM hindsight.changes", ct).ConfigureAwait(false);
            long total = 0;
            while (last < end)
            {
                var upTo = Math.Min(end, last + CopyChunk);
                total += await CopyAsync(conn, null, last, upTo, ct).ConfigureAwait(false);
                last = upTo;
                copied?.Report(total);
            }

            // 3. The swap: writers wait from here to the commit; readers go on until the old table is dropped.
            tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
            await using (tx.ConfigureAwait(false))
            {
                await ExecAsync(conn, tx, "LOCK TABLE hindsight.changes IN EXCLUSIVE MODE", ct).ConfigureAwait(false);
                total += await CopyAsync(conn, tx, last, long.MaxValue, ct).ConfigureAwait(false);
                var before = await ScalarAsync(conn, tx, "SELECT count(*) FROM hindsight.changes", ct).ConfigureAwait(false);
                var after = await ScalarAsync(conn, tx, $"SELECT count(*) FROM hindsight.{Staging}", ct).ConfigureAwait(false);
                if (before != after)
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                        $"partitioning the store copied {after} changes of {before}; nothing was changed"));
                var grants = await GrantsAsync(conn, tx, ct).ConfigureAwait(false);
                var maxId = await ScalarAsync(conn, tx, "SELECT coalesce(max(id), 0) FROM hindsight.changes", ct).ConfigureAwait(false);
                if (maxId > 0)
                    await ExecAsync(conn, tx, string.Create(CultureInfo.InvariantCulture, $"SELECT setval('hindsight.change_ids', {maxId})"), ct).ConfigureAwait(false);
                await ExecAsync(conn, tx,
                    $"""
                    DROP TABLE hindsight.changes;
                    ALTER TABLE hindsight.{Staging} RENAME TO changes;
                    ALTER TABLE hindsight.changes RENAME CONSTRAINT {Staging}_pkey TO changes_pkey;
                    ALTER TABLE hindsight.changes RENAME CONSTRAINT {Staging}_exactly_once TO changes_exactly_once;
                    ALTER TABLE hindsight.{Staging}_default RENAME TO changes_default;
                    ALTER SEQUENCE hindsight.change_ids OWNED BY hindsight.changes.id;
                    """, ct).ConfigureAwait(false);
                foreach (var suffix in IndexSuffixes)
                    await ExecAsync(conn, tx, $"ALTER INDEX IF EXISTS hindsight.{Staging}_{suffix} RENAME TO changes_{suffix}", ct).ConfigureAwait(false);
                // The default partition's own indexes were named after the staging table too.
                await ExecAsync(conn, tx,
                    $"""
                    DO $rename$
                    DECLARE i record;
                    BEGIN
                        FOR i IN SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
                                 WHERE x.indrelid = 'hindsight.changes_default'::regclass AND c.relname LIKE '{Staging}_default%' LOOP
                            EXECUTE format('ALTER INDEX hindsight.%I RENAME TO %I', i.relname, replace(i.relname, '{Staging}_default', 'changes_default'));
                        END LOOP;
                    END
                    $rename$
                    """, ct).ConfigureAwait(false);
                foreach (var (grantee, privilege) in grants)
                {
                    await ExecAsync(conn, tx, $"GRANT {privilege} ON hindsight.changes TO {grantee}", ct).ConfigureAwait(false);
                    if (privilege == "INSERT")
                        await ExecAsync(conn, tx, $"GRANT USAGE ON SEQUENCE hindsight.change_ids TO {grantee}", ct).ConfigureAwait(false);
                }
                // Deletes keep the change counts true on the new table as on the old (ids, and so the counted ones, are kept).
                if (await ScalarAsync(conn, tx, "SELECT count(*) FROM pg_proc WHERE oid = to_regprocedure('hindsight.uncount_deleted_changes()')", ct).ConfigureAwait(false) > 0)
                    await ExecAsync(conn, tx, ChangeCountsMigration.Trigger("hindsight.changes"), ct).ConfigureAwait(false);
                // And the images' compression, on the new table and the partitions it has.
                await ExecAsync(conn, tx, ImageCompression.Sql, ct).ConfigureAwait(false);
                await ExecAsync(conn, tx, "SELECT hindsight.maintain_change_partitions()", ct).ConfigureAwait(false);
                await tx.CommitAsync(ct).ConfigureAwait(false);
            }
            return total;
        }
        finally
        {
            await ExecAsync(conn, null, $"SELECT pg_advisory_unlock({StepLock})", CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Creates the partitions due (the current period and the next ones) and moves what the default partition caught
    /// into partitions of its own. Returns how many partitions it created; 0 on an unpartitioned store or one older than
    /// store migration 10.
    /// </summary>
    public static async Task<int> MaintainAsync(NpgsqlDataSource store, CancellationToken ct)
    {
        var conn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        if (!await StoreMigrations.HasTableAsync(conn, null, "changes_default", ct).ConfigureAwait(false)) return 0;
        return (int)await ScalarAsync(conn, null, "SELECT hindsight.maintain_change_partitions()", ct).ConfigureAwait(false);
    }

    /// <summary>What the store's partitioning looks like now: period, partitions, and the changes the default partition holds.</summary>
    public static async Task<StorePartitioning> DescribeAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            """
            SELECT (SELECT value FROM hindsight.settings WHERE name = 'partition_period'), c.relkind = 'p', p.n, p.lower, p.upper
            FROM pg_class c, (SELECT count(*) AS n, min(lower) AS lower, max(upper) AS upper FROM hindsight.change_partitions()) p
            WHERE c.oid = 'hindsight.changes'::regclass
            """, conn, tx);
        StorePartitioning described;
        await using (cmd.ConfigureAwait(false))
        {
            var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await using var rDisposal = r.ConfigureAwait(false);
            await r.ReadAsync(ct).ConfigureAwait(false);
            described = new StorePartitioning(
                Parse(r.IsDBNull(0) ? null : r.GetString(0)),
                r.GetBoolean(1),
                (int)r.GetInt64(2),
                r.IsDBNull(3) ? null : r.GetFieldValue<DateTimeOffset>(3),
                r.IsDBNull(4) ? null : r.GetFieldValue<DateTimeOffset>(4),
                0);
        }
        // A separate statement: a query naming the default partition could not even be parsed on an unpartitioned store.
        return described.Partitioned && await StoreMigrations.HasTableAsync(conn, tx, "changes_default", ct).ConfigureAwait(false)
            ? described with { DefaultPartitionChanges = await ScalarAsync(conn, tx, "SELECT count(*) FROM hindsight.changes_default", ct).ConfigureAwait(false) }
            : described;
    }

    private static async Task<long> CopyAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, long after, long upTo, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            $"INSERT INTO hindsight.{Staging} ({Columns}) SELECT {Columns} FROM hindsight.changes WHERE id > $1 AND id <= $2", conn, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.CommandTimeout = 0;
        cmd.Parameters.AddWithValue(after);
        cmd.Parameters.AddWithValue(upTo);
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The table privileges others hold on the old change table, to give them on the new one.</summary>
    private static async Task<List<(string Grantee, string Privilege)>> GrantsAsync(NpgsqlConnection conn, NpgsqlTransaction tx, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            """
            SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END, a.privilege_type
            FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
            WHERE c.oid = 'hindsight.changes'::regclass AND a.grantee <> c.relowner
            """, conn, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        var grants = new List<(string, string)>();
        while (await r.ReadAsync(ct).ConfigureAwait(false)) grants.Add((r.GetString(0), r.GetString(1)));
        return grants;
    }

    private static async Task<long> ScalarAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string sql, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(sql, conn, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.CommandTimeout = 0;
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    private static async Task ExecAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string sql, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(sql, conn, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.CommandTimeout = 0;
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
