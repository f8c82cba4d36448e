using System.Globalization;
using Npgsql;

namespace Hindsight.Store;

/// <summary>
/// Versioned, forward-only migrations of the change store (schema <c>hindsight</c>).
/// Applied by <c>hindsight setup</c>; each runs once, in its own transaction, recorded in
/// <c>hindsight.schema_migrations</c>. Never edit a released migration: append a new one.
/// </summary>
internal static class StoreMigrations
{
    /// <summary>The schema that holds the store. It is never captured.</summary>
    public const string Schema = "hindsight";

    /// <summary>The migrations, in order. The index + 1 is the version.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        // 1: the change table, its idempotency key and the indexes the queries need (docs/design.md, "The stored shape").
        """
        CREATE TABLE hindsight.changes (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            database        text        NOT NULL,
            schema          text        NOT NULL,
            "table"         text        NOT NULL,
            primary_key     text,
            operation       text        NOT NULL CHECK (operation IN ('CREATE','UPDATE','DELETE','TRUNCATE','SNAPSHOT')),
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
            CONSTRAINT changes_exactly_once UNIQUE (database, commit_lsn, ordinal)
        );
        CREATE INDEX changes_record_idx ON hindsight.changes ("table", primary_key, committed_at);
        CREATE INDEX changes_committed_at_idx ON hindsight.changes (committed_at);
        CREATE INDEX changes_context_idx ON hindsight.changes USING gin (context jsonb_path_ops);
        -- GIN indexes on before/after are opt-in (setup --index-images): they more than double the
        -- store's cost per change (BENCHMARKS.md), and most queries find rows by table and key.

        -- Where each worker stands: the last source commit whose changes are durable here.
        -- Updated in the same store transaction as the changes, so it is exact after any crash.
        CREATE TABLE hindsight.progress (
            slot             text        NOT NULL,
            database         text        NOT NULL,
            last_commit_lsn  bigint      NOT NULL DEFAULT 0,
            last_end_lsn     bigint      NOT NULL DEFAULT 0,
            stored_changes   bigint      NOT NULL DEFAULT 0,
            stored_transactions bigint   NOT NULL DEFAULT 0,
            last_committed_at timestamptz,
            updated_at       timestamptz NOT NULL DEFAULT now(),
            last_error       text,
            PRIMARY KEY (slot, database)
        );

        -- Installation settings (e.g. the key that makes redacted values comparable).
        CREATE TABLE hindsight.settings (
            name   text PRIMARY KEY,
            value  text NOT NULL
        );
        INSERT INTO hindsight.settings (name, value)
        VALUES ('redaction_key', encode(sha256(gen_random_uuid()::text::bytea || clock_timestamp()::text::bytea), 'hex'));
        """,

        // 2: cheaper writes, same queries (BENCHMARKS-log.md, "Where the time goes").
        // - The context index skips changes without context (direct SQL, jobs that set none): a GIN
        //   index still files every '{}' under an "empty item" entry, one pending-list insert and one WAL
        //   record per change, which the walsender must also read. Containment filters add
        //   `context <> '{}'` so the planner can use it (a non-empty pattern implies it anyway).
        // - Names and keys compare bytewise: under a linguistic default collation (en_US.UTF-8) every
        //   btree comparison on them would go through strcoll, and no query needs a linguistic order.
        """
        DROP INDEX hindsight.changes_context_idx;
        CREATE INDEX changes_context_idx ON hindsight.changes USING gin (context jsonb_path_ops) WHERE context <> '{}';
        ALTER TABLE hindsight.changes
            ALTER COLUMN database TYPE text COLLATE "C",
            ALTER COLUMN schema TYPE text COLLATE "C",
            ALTER COLUMN "table" TYPE text COLLATE "C",
            ALTER COLUMN primary_key TYPE text COLLATE "C";
        """,

        // 3: as-of of a whole table reads the newest change of every key up to a moment. With the index of migration 1
        //    the planner walked changes_committed_at_idx over every table's changes up to the moment and fetched each
        //    from the heap (1,000,000-change store: 375,001 rows filtered out, 3.6 s; BENCHMARKS-log.md, "Query").
        //    Covering the columns that choose the newest change makes that an index-only scan of the one table's keys.
        //    It replaces the old index (same name, same leading columns, so history keeps its plan) rather than adding
        //    one: the store's write cost stays one btree insert. Built inside the migration's transaction, so writes to
        //    the store wait while it is built (seconds per million changes).
        """
        DROP INDEX hindsight.changes_record_idx;
        CREATE INDEX changes_record_idx ON hindsight.changes ("table", primary_key, committed_at, commit_lsn, ordinal)
            INCLUDE (database, schema, operation, id);
        """,

        // 4: the time index becomes a BRIN index. Changes are appended in commit order, so committed_at follows the
        //    table's physical order and a BRIN index answers time windows by page ranges (trends, --since/--until).
        //    A btree costs every stored change one more index insert and one more WAL record — which the source's
        //    walsender also has to read when the store lives in the tracked cluster; BRIN updates a range summary at
        //    most once per transaction (BENCHMARKS-log.md, "On a quiet machine, after store migrations 3 and 4"). Newest-first paging stays on the primary key.
        """
        DROP INDEX hindsight.changes_committed_at_idx;
        CREATE INDEX changes_committed_at_idx ON hindsight.changes USING brin (committed_at) WITH (pages_per_range = 32, autosummarize = on);
        """,

        // 5: baselines (setup --snapshot). One row per table copied at a slot's starting point; its SNAPSHOT rows in
        //    hindsight.changes carry commit_lsn = lsn and committed_at = taken_at. The row is what tells as-of that the
        //    table's rows are all known from taken_at on — a table that was empty then has no SNAPSHOT rows to say so —
        //    and it is a barrier: a change stored before a newer baseline of its table no longer describes a live row.
        //    ended_at is set by teardown, when the slot that started at the baseline is dropped: from then on changes go
        //    unseen, so the baseline vouches for as-of only between taken_at and ended_at.
        """
        CREATE TABLE hindsight.baselines (
            database      text COLLATE "C" NOT NULL,
            schema        text COLLATE "C" NOT NULL,
            "table"       text COLLATE "C" NOT NULL,
            lsn           bigint      NOT NULL,
            taken_at      timestamptz NOT NULL,
            slot          text        NOT NULL,
            rows          bigint      NOT NULL,
            column_rules  jsonb       NOT NULL DEFAULT '{}',
            created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
            ended_at      timestamptz,
            PRIMARY KEY (database, schema, "table", lsn)
        );
        """,

        // 6: changes, revert and as-of by source transaction (--transaction) had no index to use: a parallel scan of
        //    every stored change (1,050,000-change store: ~1 s per look-up; BENCHMARKS-log.md, "Query"). Changes are appended
        //    in commit order and xids are handed out in roughly that order, so a BRIN index finds one transaction by page
        //    ranges (~1 ms there) at the write cost of BRIN (a range summary widened now and then), not of a btree (one
        //    index insert and one WAL record per stored change, which migration 4 took out for committed_at).
        //    minmax-multi rather than minmax: a long-running transaction, or a second source database whose xids are in
        //    another range, adds a separate interval to a page range's summary instead of widening one to cover everything.
        """
        CREATE INDEX changes_transaction_idx ON hindsight.changes USING brin (transaction_id int8_minmax_multi_ops)
            WITH (pages_per_range = 32, autosummarize = on);
        """,

        // 7: sources. A store may hold the changes of several tracked databases, on one server or several, and two of
        //    them may well share a database name (every server has a `postgres`). A source is named by a person and
        //    identified by what really identifies it: the server's system identifier and the database. Changes,
        //    progress and baselines carry the source's name, and the idempotency key becomes (source, commit_lsn,
        //    ordinal): two servers' LSN ranges overlap, so a key by database name let one server's changes be skipped or
        //    refused as the other's. A store from before keeps its rows: each database it names becomes a source of that
        //    name, whose system identifier is filled in by the first setup or worker that connects to it.
        //    When the store holds one database (the usual case), its name is the new column's default for existing
        //    rows: a catalog change, not a rewrite of the table.
        """
        CREATE TABLE hindsight.sources (
            name              text COLLATE "C" PRIMARY KEY CHECK (name <> ''),
            system_identifier text COLLATE "C",
            database          text COLLATE "C" NOT NULL,
            created_at        timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT sources_identity UNIQUE (system_identifier, database)
        );
        DO $migrate$
        DECLARE
            names text[];
        BEGIN
            WITH RECURSIVE stored(database) AS (
                SELECT min(c.database) FROM hindsight.changes c
                UNION ALL
                SELECT (SELECT min(c.database) FROM hindsight.changes c WHERE c.database > s.database)
                FROM stored s WHERE s.database IS NOT NULL
            )
            SELECT coalesce(array_agg(DISTINCT d.database ORDER BY d.database), '{}') INTO names FROM (
                SELECT database FROM stored WHERE database IS NOT NULL
                UNION SELECT database FROM hindsight.progress
                UNION SELECT database FROM hindsight.baselines) d;
            INSERT INTO hindsight.sources (name, database) SELECT n, n FROM unnest(names) n WHERE n <> '';
            IF cardinality(names) <= 1 THEN
                EXECUTE format('ALTER TABLE hindsight.changes ADD COLUMN source text COLLATE "C" NOT NULL DEFAULT %L', coalesce(names[1], ''));
                ALTER TABLE hindsight.changes ALTER COLUMN source DROP DEFAULT;
            ELSE
                ALTER TABLE hindsight.changes ADD COLUMN source text COLLATE "C";
                UPDATE hindsight.changes SET source = database;
                ALTER TABLE hindsight.changes ALTER COLUMN source SET NOT NULL;
            END IF;
        END
        $migrate$;
        ALTER TABLE hindsight.changes DROP CONSTRAINT changes_exactly_once,
            ADD CONSTRAINT changes_exactly_once UNIQUE (source, commit_lsn, ordinal);
        DROP INDEX hindsight.changes_record_idx;
        CREATE INDEX changes_record_idx ON hindsight.changes ("table", primary_key, committed_at, commit_lsn, ordinal)
            INCLUDE (source, database, schema, operation, id);

        ALTER TABLE hindsight.progress ADD COLUMN source text COLLATE "C";
        UPDATE hindsight.progress SET source = database;
        ALTER TABLE hindsight.progress ALTER COLUMN source SET NOT NULL,
            DROP CONSTRAINT progress_pkey, ADD PRIMARY KEY (source, slot);

        ALTER TABLE hindsight.baselines ADD COLUMN source text COLLATE "C";
        UPDATE hindsight.baselines SET source = database;
        ALTER TABLE hindsight.baselines ALTER COLUMN source SET NOT NULL,
            DROP CONSTRAINT baselines_pkey, ADD PRIMARY KEY (source, schema, "table", lsn);
        """,

        // 8: columns of tracked tables whose values the images do not hold: generated columns the source does not
        //    publish (every generated column before PostgreSQL 18). Setup and every worker start replace a source's
        //    rows with what the source catalog says then. As-of reads only the store, so this is how it knows to mark
        //    them instead of leaving them out without a word. Keyed by source, like hindsight.baselines.
        """
        CREATE TABLE hindsight.untracked_columns (
            source       text COLLATE "C" NOT NULL,
            schema       text COLLATE "C" NOT NULL,
            "table"      text COLLATE "C" NOT NULL,
            "column"     text COLLATE "C" NOT NULL,
            reason       text        NOT NULL CHECK (reason IN ('generated', 'redacted')),
            recorded_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (source, schema, "table", "column")
        );
        """,

        // 9: schema changes of tracked tables, from the source's event trigger (setup, superuser) through the WAL, and the
        //    columns setup found each table with (command_tag SNAPSHOT). relid is the table's OID in the source: one table
        //    across renames, another after a drop and re-create. columns is the table's column map after the command
        //    (null for a drop); position is where the message's WAL record ends: a row change of the same transaction that
        //    starts at or after it came after the schema change.
        //    Same exactly-once key as hindsight.changes, with ordinals of their own.
        """
        CREATE TABLE hindsight.schema_changes (
            id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            source              text COLLATE "C" NOT NULL,
            database            text COLLATE "C" NOT NULL,
            schema              text COLLATE "C" NOT NULL,
            "table"             text COLLATE "C" NOT NULL,
            relid               bigint      NOT NULL,
            command_tag         text        NOT NULL,
            object_identity     text,
            statement           text,
            statement_truncated boolean     NOT NULL DEFAULT false,
            role                text,
            columns             jsonb,
            detail              jsonb       NOT NULL DEFAULT '{}',
            context             jsonb       NOT NULL DEFAULT '{}',
            committed_at        timestamptz NOT NULL,
            transaction_id      bigint      NOT NULL,
            commit_lsn          bigint      NOT NULL,
            position            bigint      NOT NULL,
            ordinal             int         NOT NULL,
            created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
            CONSTRAINT schema_changes_exactly_once UNIQUE (source, commit_lsn, ordinal)
        );
        CREATE INDEX schema_changes_table_idx ON hindsight.schema_changes ("table", schema, source, commit_lsn, position);
        CREATE INDEX schema_changes_relid_idx ON hindsight.schema_changes (source, relid, commit_lsn, position);
        """,

        // 10: partitions by commit time. This migration only installs what keeps them: the period setting (setup
        //    --partition) and two functions. Turning the change table itself into a partitioned one copies every change,
        //    so it is a step of its own (ChangePartitions.PartitionStoreAsync, run by setup): instant on a new store, and
        //    online (writers wait only for the final swap) on one that holds changes.
        //    - change_partitions(parent): each partition with its range, read from the catalog (bounds printed in UTC).
        //    - maintain_change_partitions(covering, parent): creates the partitions for the current period and the next
        //      ones (ahead, so a change never waits for one), for every time in `covering`, and for every change the
        //      default partition caught (a commit time outside them: a clock jump, a long outage, a row written by hand),
        //      which it moves into the partition it creates. A partition is one period, cut short where another already
        //      covers part of it (after a change of period). SHARE UPDATE EXCLUSIVE on the parent: one maintainer at a
        //      time, while writers and readers go on; ATTACH PARTITION takes no stronger lock (CREATE TABLE ... PARTITION
        //      OF would take ACCESS EXCLUSIVE). SECURITY DEFINER: creating a partition needs the parent's owner, and the
        //      writer role only inserts. EXECUTE is given to hindsight_writer by setup --create-roles, not to PUBLIC.
        """
        INSERT INTO hindsight.settings (name, value) VALUES ('partition_period', 'month') ON CONFLICT (name) DO NOTHING;

        CREATE FUNCTION hindsight.change_partitions(parent text DEFAULT 'hindsight.changes')
            RETURNS TABLE (partition regclass, lower timestamptz, upper timestamptz)
            LANGUAGE sql STABLE SET TimeZone = 'UTC' SET search_path = pg_catalog, pg_temp
        AS $fn$
            SELECT i.inhrelid::regclass, m[1]::timestamptz, m[2]::timestamptz
            FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') m
            WHERE i.inhparent = parent::regclass AND m IS NOT NULL
            ORDER BY 2
        $fn$;

        CREATE FUNCTION hindsight.maintain_change_partitions(covering timestamptz[] DEFAULT '{}', parent text DEFAULT 'hindsight.changes')
            RETURNS integer
            LANGUAGE plpgsql SECURITY DEFINER SET TimeZone = 'UTC' SET search_path = pg_catalog, pg_temp
        AS $fn$
        DECLARE
            period   text;
            step     interval;
            ahead    int;
            wanted   timestamptz[];
            caught   timestamptz[];
            def      regclass;
            t        timestamptz;
            cur      timestamptz;
            p_hi     timestamptz;
            upto     timestamptz;
            nxt      timestamptz;
            part     text;
            created  int := 0;
        BEGIN
            -- By name, not regclass: a default or a variable of type regclass would keep the OID of a table the
            -- partitioning step has since replaced.
            IF parent NOT IN ('hindsight.changes', 'hindsight.changes_partitioned') THEN
                RAISE EXCEPTION 'maintain_change_partitions keeps the partitions of hindsight.changes only, not %', parent;
            END IF;
            IF (SELECT c.relkind FROM pg_class c WHERE c.oid = parent::regclass) <> 'p' THEN RETURN 0; END IF;
            EXECUTE format('LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE', parent);
            period := coalesce((SELECT s.value FROM hindsight.settings s WHERE s.name = 'partition_period'), 'month');
            IF period NOT IN ('day', 'week', 'month') THEN
                RAISE EXCEPTION 'hindsight.settings says partition_period = %, which is not day, week or month', period;
            END IF;
            step := ('1 ' || period)::interval;
            ahead := CASE period WHEN 'day' THEN 7 WHEN 'week' THEN 4 ELSE 2 END;
            wanted := coalesce(covering, '{}') || ARRAY(SELECT now() + g * step FROM generate_series(0, ahead) g);
            def := to_regclass(parent || '_default');
            IF def IS NOT NULL THEN
                EXECUTE format('SELECT coalesce(array_agg(DISTINCT date_trunc(%L, committed_at)), ''{}'') FROM %s', period, def) INTO caught;
                wanted := wanted || caught;
            END IF;
            FOREACH t IN ARRAY wanted LOOP
                cur := date_trunc(period, t);
                p_hi := cur + step;
                WHILE cur < p_hi LOOP
                    SELECT p.upper INTO upto FROM hindsight.change_partitions(parent) p WHERE p.lower <= cur AND cur < p.upper;
                    IF upto IS NOT NULL THEN
                        cur := upto;
                        CONTINUE;
                    END IF;
                    SELECT least(p_hi, coalesce(min(p.lower), p_hi)) INTO nxt FROM hindsight.change_partitions(parent) p WHERE p.lower > cur;
                    part := 'changes_p' || to_char(cur, 'YYYYMMDD') || CASE WHEN cur = date_trunc('day', cur) THEN '' ELSE to_char(cur, '"_"HH24MISS') END;
                    EXECUTE format('CREATE TABLE hindsight.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION)',
                                   part, parent);
                    IF def IS NOT NULL THEN
                        EXECUTE format('WITH moved AS (DELETE FROM %s WHERE committed_at >= %L AND committed_at < %L RETURNING *) INSERT INTO hindsight.%I SELECT * FROM moved',
                                       def, cur, nxt, part);
                    END IF;
                    EXECUTE format('ALTER TABLE %s ATTACH PARTITION hindsight.%I FOR VALUES FROM (%L) TO (%L)', parent, part, cur, nxt);
                    created := created + 1;
                    cur := nxt;
                END LOOP;
            END LOOP;
            RETURN created;
        END
        $fn$;
        REVOKE EXECUTE ON FUNCTION hindsight.maintain_change_partitions(timestamptz[], text) FROM PUBLIC;
        """,

        // 11: retention (RetentionMigration): legal holds, retention policies, the log of prunes, and pruning itself.
        RetentionMigration.Sql,

        // 12: hourly change counts for trends (ChangeCountsMigration), kept as changes are stored and removed.
        ChangeCountsMigration.Sql,

        // 13: images and context compressed with lz4 where the server has it (ImageCompression).
        ImageCompression.Sql,

        // 14: the tamper-evident chain (ChainMigration): blocks, kept tree nodes, checkpoints, signing keys.
        ChainMigration.Sql,
    ];

    /// <summary>
    /// GIN indexes for JSON containment filters on <c>before</c> and <c>after</c> (<c>setup --index-images</c>).
    /// Not part of the migrations: they cost more than half of the store's write throughput.
    /// </summary>
    public const string ImageIndexes =
        """
        CREATE INDEX IF NOT EXISTS changes_before_idx ON hindsight.changes USING gin (before jsonb_path_ops);
        CREATE INDEX IF NOT EXISTS changes_after_idx ON hindsight.changes USING gin (after jsonb_path_ops);
        """;

    /// <summary>Creates the GIN indexes on <c>before</c> and <c>after</c> if they are missing.</summary>
    public static async Task EnsureImageIndexesAsync(NpgsqlDataSource store, CancellationToken ct = default)
    {
        var cmd = store.CreateCommand(ImageIndexes);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.CommandTimeout = 0; // building them over an existing store can take a while
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The version a fully migrated store is at.</summary>
    public static int LatestVersion => All.Count;

    /// <summary>Creates the schema if needed and applies every migration not applied yet. Idempotent.</summary>
    /// <returns>The versions applied by this call.</returns>
    public static async Task<IReadOnlyList<int>> ApplyAsync(NpgsqlDataSource store, CancellationToken ct = default)
    {
        var applied = new List<int>();
        var conn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        var cmd = new NpgsqlCommand(
            """
            CREATE SCHEMA IF NOT EXISTS hindsight;
            CREATE TABLE IF NOT EXISTS hindsight.schema_migrations (
                version int PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now());
            """, conn);
        await using (cmd.ConfigureAwait(false))
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);

        for (var version = 1; version <= All.Count; version++)
        {
            var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
            await using var txDisposal = tx.ConfigureAwait(false);
            // Serialises concurrent setups: the second waits, then sees the version as applied.
            var lockCmd = new NpgsqlCommand("LOCK TABLE hindsight.schema_migrations IN EXCLUSIVE MODE", conn, tx);
            await using (lockCmd.ConfigureAwait(false))
                await lockCmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            var check = new NpgsqlCommand("SELECT 1 FROM hindsight.schema_migrations WHERE version = $1", conn, tx);
            await using (check.ConfigureAwait(false))
            {
                check.Parameters.AddWithValue(version);
                if (await check.ExecuteScalarAsync(ct).ConfigureAwait(false) is not null) { await tx.RollbackAsync(ct).ConfigureAwait(false); continue; }
            }
            var migrate = new NpgsqlCommand(All[version - 1], conn, tx);
            await using (migrate.ConfigureAwait(false))
                await migrate.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            var record = new NpgsqlCommand("INSERT INTO hindsight.schema_migrations (version) VALUES ($1)", conn, tx);
            await using (record.ConfigureAwait(false))
            {
                record.Parameters.AddWithValue(version);
                await record.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            await tx.CommitAsync(ct).ConfigureAwait(false);
            applied.Add(version);
        }
        return applied;
    }

    /// <summary>
    /// Whether the store has <c>hindsight.baselines</c> (migration 5). A store older than that has no baselines, and
    /// readers that may run before <c>setup</c> has migrated it (queries, status, teardown) must not name the table.
    /// </summary>
    internal static Task<bool> HasBaselinesAsync(NpgsqlConnection store, NpgsqlTransaction? tx, CancellationToken ct) =>
        HasTableAsync(store, tx, "baselines", ct);

    /// <summary>
    /// Whether the store has the table <c>hindsight.<paramref name="table"/></c>: readers that may run on a store a newer
    /// migration has not reached yet must not name a table it adds.
    /// </summary>
    internal static async Task<bool> HasTableAsync(NpgsqlConnection store, NpgsqlTransaction? tx, string table, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL", store, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue($"{Schema}.{table}");
        return (bool)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    /// <summary>The version the store is at, or 0 when it has no store schema.</summary>
    public static async Task<int> CurrentVersionAsync(NpgsqlDataSource store, CancellationToken ct = default)
    {
        // Two statements: PostgreSQL resolves every table a query names when parsing it, so a
        // single query could not even mention schema_migrations on a database without it.
        var exists = store.CreateCommand("SELECT to_regclass('hindsight.schema_migrations') IS NOT NULL");
        await using (exists.ConfigureAwait(false))
            if (!(bool)(await exists.ExecuteScalarAsync(ct).ConfigureAwait(false))!) return 0;
        var cmd = store.CreateCommand("SELECT coalesce(max(version), 0) FROM hindsight.schema_migrations");
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }
}
