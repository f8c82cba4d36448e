namespace Hindsight.Store;

/// <summary>
/// Store migration 12: counts of the stored changes per hour, for trends over a store too large to count at every
/// request. <c>hindsight.change_counts</c> holds, per hour of commit time (UTC), source, database, schema, table and
/// operation, how many stored changes with an id up to <c>change_counts_state.counted_to</c> there are. Trends add the
/// changes stored since (the last minutes) counted live, so they are exact whenever they are asked.
/// <list type="bullet">
/// <item><c>count_changes()</c> moves the watermark forward: run by the worker's store upkeep, and by anyone who wants
/// counts current (SECURITY DEFINER, so the writer role may).</item>
/// <item>A DELETE of changes (a prune, teardown's purge, or by hand) takes its counted rows out, in a statement trigger;
/// a prune that drops a whole partition takes out that partition's hours (its rows are every change of those
/// hours).</item>
/// </list>
/// </summary>
internal static class ChangeCountsMigration
{
    /// <summary>What a prune runs after it dropped the partition <c>part</c> (a row of <c>change_partitions()</c>).</summary>
    private const string AfterPartitionDropped =
        """

                                PERFORM 1 FROM hindsight.change_counts_state FOR UPDATE;
                                DELETE FROM hindsight.change_counts k WHERE k.hour >= part.lower AND k.hour < part.upper;
        """;

    public static readonly string Sql =
        $$"""
        CREATE TABLE hindsight.change_counts (
            hour        timestamptz      NOT NULL,
            source      text COLLATE "C" NOT NULL,
            database    text COLLATE "C" NOT NULL,
            schema      text COLLATE "C" NOT NULL,
            "table"     text COLLATE "C" NOT NULL,
            operation   text             NOT NULL,
            changes     bigint           NOT NULL,
            PRIMARY KEY (hour, source, database, schema, "table", operation)
        );
        -- The changes with ids up to counted_to are in change_counts; those after are counted live.
        CREATE TABLE hindsight.change_counts_state (
            only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            counted_to  bigint  NOT NULL
        );
        INSERT INTO hindsight.change_counts_state (counted_to) VALUES (0);

        -- Counts the changes stored since the last call; returns how many (null: writers were busy, nothing counted).
        -- Ids are handed out as changes are inserted, and a transaction that took a smaller id may commit after one that
        -- took a larger: the watermark is the largest id at a moment when no transaction is writing changes. A SHARE lock
        -- says so (it is granted once no writer holds the table); it is let go at once, by ending its subtransaction in an
        -- error on purpose, so that writers wait at most lock_timeout, and not for the counting.
        CREATE FUNCTION hindsight.count_changes() RETURNS bigint
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $fn$
        DECLARE
            read boolean := false;
            upto bigint;
            done bigint;
            n    bigint;
        BEGIN
            FOR attempt IN 1..5 LOOP
                BEGIN
                    PERFORM set_config('lock_timeout', '100ms', true); -- undone with the subtransaction
                    LOCK TABLE hindsight.changes IN SHARE MODE;
                    read := true;
                    upto := (SELECT max(c.id) FROM hindsight.changes c);
                    RAISE EXCEPTION 'watermark read' USING ERRCODE = 'HS001';
                EXCEPTION
                    WHEN lock_not_available THEN PERFORM pg_sleep(0.05 * attempt);
                    WHEN SQLSTATE 'HS001' THEN EXIT;
                END;
            END LOOP;
            IF NOT read THEN RETURN NULL; END IF;
            -- One counter at a time; a DELETE's trigger waits for it too.
            SELECT s.counted_to INTO done FROM hindsight.change_counts_state s FOR UPDATE;
            IF upto IS NULL OR upto <= done THEN RETURN 0; END IF;
            WITH fresh AS (
                SELECT date_trunc('hour', c.committed_at, 'UTC') AS hour, c.source, c.database, c.schema, c."table", c.operation, count(*) AS n
                FROM hindsight.changes c
                WHERE c.id > done AND c.id <= upto
                GROUP BY 1, 2, 3, 4, 5, 6
            ), added AS (
                INSERT INTO hindsight.change_counts AS k (hour, source, database, schema, "table", operation, changes)
                SELECT f.hour, f.source, f.database, f.schema, f."table", f.operation, f.n FROM fresh f
                ON CONFLICT (hour, source, database, schema, "table", operation) DO UPDATE SET changes = k.changes + excluded.changes
            )
            SELECT coalesce(sum(f.n), 0) INTO n FROM fresh f;
            UPDATE hindsight.change_counts_state SET counted_to = upto;
            RETURN n;
        END
        $fn$;
        REVOKE EXECUTE ON FUNCTION hindsight.count_changes() FROM PUBLIC;

        -- Deleted changes leave the counts. After the counter (the state row's lock), so that a change it counted is
        -- taken out, and one it did not is not.
        CREATE FUNCTION hindsight.uncount_deleted_changes() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $fn$
        DECLARE
            done  bigint;
            first timestamptz;
            last  timestamptz;
        BEGIN
            SELECT s.counted_to INTO done FROM hindsight.change_counts_state s FOR UPDATE;
            UPDATE hindsight.change_counts k SET changes = k.changes - g.n
            FROM (SELECT date_trunc('hour', o.committed_at, 'UTC') AS hour, o.source, o.database, o.schema, o."table", o.operation, count(*) AS n
                  FROM deleted_changes o WHERE o.id <= done
                  GROUP BY 1, 2, 3, 4, 5, 6) g
            WHERE k.hour = g.hour AND k.source = g.source AND k.database = g.database AND k.schema = g.schema
              AND k."table" = g."table" AND k.operation = g.operation;
            SELECT min(o.committed_at), max(o.committed_at) INTO first, last FROM deleted_changes o WHERE o.id <= done;
            DELETE FROM hindsight.change_counts k
            WHERE k.hour >= date_trunc('hour', first, 'UTC') AND k.hour <= last AND k.changes <= 0;
            RETURN NULL;
        END
        $fn$;
        {{Trigger("hindsight.changes")}}

        {{RetentionMigration.PruneChanges(AfterPartitionDropped)}}
        """;

    /// <summary>The DELETE trigger on a change table (also made on the table a store's partitioning swaps in).</summary>
    public static string Trigger(string table) =>
        $"""
        CREATE TRIGGER changes_uncount AFTER DELETE ON {table} REFERENCING OLD TABLE AS deleted_changes
            FOR EACH STATEMENT EXECUTE FUNCTION hindsight.uncount_deleted_changes();
        """;
}
