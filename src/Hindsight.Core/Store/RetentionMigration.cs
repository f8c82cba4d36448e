namespace Hindsight.Store;

/// <summary>
/// Store migration 11: retention. Pruning lives in the store, as SQL, so that the worker can apply the retention policies
/// the store's owner set without being allowed to delete anything else (<c>apply_retention()</c> is SECURITY DEFINER and
/// takes no arguments), and so that <c>hindsight prune</c> and the schedule run the very same code.
/// </summary>
internal static class RetentionMigration
{
    public static readonly string Sql =
        $$"""
        -- Legal holds: changes matching one are never pruned. Every given part must match (a null part matches anything);
        -- context is matched by containment.
        CREATE TABLE hindsight.legal_holds (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            source       text COLLATE "C",
            schema       text COLLATE "C",
            "table"      text COLLATE "C",
            primary_key  text COLLATE "C",
            context      jsonb,
            reason       text        NOT NULL CHECK (reason <> ''),
            created_at   timestamptz NOT NULL DEFAULT now(),
            created_by   text        NOT NULL DEFAULT session_user,
            CHECK ("table" IS NOT NULL OR context IS NOT NULL),
            CHECK (primary_key IS NULL OR "table" IS NOT NULL)
        );

        -- Retention policies: a table's changes older than keep are pruned by apply_retention() (the worker, on a schedule).
        CREATE TABLE hindsight.retention_policies (
            schema      text COLLATE "C" NOT NULL,
            "table"     text COLLATE "C" NOT NULL,
            keep        interval    NOT NULL CHECK (keep > interval '0'),
            created_at  timestamptz NOT NULL DEFAULT now(),
            created_by  text        NOT NULL DEFAULT session_user,
            PRIMARY KEY (schema, "table")
        );

        -- One row per table a prune took changes from: what history and as-of say ("pruned up to horizon"), and what a
        -- revert that needs a pruned change is told.
        CREATE TABLE hindsight.prunes (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            source      text COLLATE "C" NOT NULL,
            schema      text COLLATE "C" NOT NULL,
            "table"     text COLLATE "C" NOT NULL,
            horizon     timestamptz NOT NULL,
            pruned      bigint      NOT NULL,
            folded      bigint      NOT NULL,
            held        bigint      NOT NULL,
            max_id      bigint      NOT NULL,
            pruned_at   timestamptz NOT NULL DEFAULT now(),
            pruned_by   text        NOT NULL DEFAULT session_user
        );
        CREATE INDEX prunes_table_idx ON hindsight.prunes ("table", schema, source, horizon);

        -- Prunes the changes committed before horizon (of the given tables, schemas[i].tables[i]; null: every table), except
        -- held ones, and folds what it removes into one SNAPSHOT change per row that existed at the horizon: committed_at
        -- = horizon, commit_lsn = the source's newest pruned commit LSN (so it sorts after everything pruned and before
        -- what is kept, by time and by LSN), ordinals -1, -2, …, after = the row's image at the horizon. As-of at or
        -- after the horizon is then what it was, and a revert's conflict check still sees each row's latest image.
        -- A partition wholly before the horizon, with nothing held or outside the given tables, is dropped; the rest is
        -- deleted row by row. Returns, per table, the changes pruned, the rows folded and the changes a hold kept.
        {{PruneChanges()}}
        -- The retention policies, applied: what the worker runs on a schedule. SECURITY DEFINER without arguments, so a
        -- role allowed to run it (setup --create-roles: hindsight_writer) prunes what the owner's policies say and nothing
        -- else. A policy for schema '*' and table '*' covers every table without a policy of its own (and so can drop whole
        -- partitions).
        CREATE FUNCTION hindsight.apply_retention()
            RETURNS TABLE (source text, schema text, "table" text, pruned bigint, folded bigint, held bigint, dropped_partitions text[])
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $fn$
        DECLARE
            p record;
        BEGIN
            FOR p IN SELECT r.schema, r."table", r.keep FROM hindsight.retention_policies r ORDER BY r.keep DESC, r.schema, r."table" LOOP
                IF p."table" = '*' THEN
                    -- Every table but those with a policy of their own, which may keep theirs longer.
                    RETURN QUERY SELECT * FROM hindsight.prune_changes(now() - p.keep, NULL, NULL, false,
                        ARRAY(SELECT r.schema FROM hindsight.retention_policies r WHERE r."table" <> '*' ORDER BY r.schema, r."table"),
                        ARRAY(SELECT r."table" FROM hindsight.retention_policies r WHERE r."table" <> '*' ORDER BY r.schema, r."table"));
                ELSE
                    RETURN QUERY SELECT * FROM hindsight.prune_changes(now() - p.keep, ARRAY[p.schema], ARRAY[p."table"]);
                END IF;
            END LOOP;
        END
        $fn$;
        REVOKE EXECUTE ON FUNCTION hindsight.apply_retention() FROM PUBLIC;
        """;

    /// <summary>
    /// The <c>prune_changes</c> function: created by this migration, and replaced by the change counts migration, which
    /// adds <paramref name="afterDrop"/> (SQL run after a partition is dropped whole, with <c>part</c> its row of
    /// <c>change_partitions()</c>).
    /// </summary>
    public static string PruneChanges(string afterDrop = "") =>
        $$"""
        CREATE OR REPLACE FUNCTION hindsight.prune_changes(horizon timestamptz, schemas text[] DEFAULT NULL, tables text[] DEFAULT NULL, dry_run boolean DEFAULT false,
                                                 except_schemas text[] DEFAULT NULL, except_tables text[] DEFAULT NULL)
            RETURNS TABLE (source text, schema text, "table" text, pruned bigint, folded bigint, held bigint, dropped_partitions text[])
            LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC'
        AS $fn$
        DECLARE
            part     record;
            n        bigint;
            dropped  text[] := '{}';
        BEGIN
            IF horizon IS NULL OR horizon > now() THEN
                RAISE EXCEPTION 'the horizon % is in the future: only changes older than now can be pruned', horizon
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            -- One prune at a time, and none while partitions are made (maintenance takes the same lock).
            LOCK TABLE hindsight.changes IN SHARE UPDATE EXCLUSIVE MODE;
            DROP TABLE IF EXISTS pg_temp.prune_doomed, pg_temp.prune_folded, pg_temp.prune_summary;

            CREATE TEMP TABLE prune_doomed ON COMMIT DROP AS
                SELECT c.id, c.committed_at, c.source, c.schema, c."table", c.primary_key, c.commit_lsn, c.tableoid AS part
                FROM hindsight.changes c
                WHERE c.committed_at < horizon
                  AND (tables IS NULL OR (c.schema, c."table") IN (SELECT u.s, u.t FROM unnest(schemas, tables) u(s, t)))
                  AND (except_tables IS NULL OR (c.schema, c."table") NOT IN (SELECT u.s, u.t FROM unnest(except_schemas, except_tables) u(s, t)))
                  AND NOT EXISTS (SELECT 1 FROM hindsight.legal_holds h
                                  WHERE (h.source IS NULL OR h.source = c.source) AND (h.schema IS NULL OR h.schema = c.schema)
                                    AND (h."table" IS NULL OR h."table" = c."table") AND (h.primary_key IS NULL OR h.primary_key = c.primary_key)
                                    AND (h.context IS NULL OR c.context @> h.context));

            -- The state at the horizon of each row that loses changes: its newest change before the horizon (held ones
            -- count), unless that is a DELETE, or a TRUNCATE or a baseline of its table came after it. commit_lsn: the
            -- source's newest pruned commit, which the SNAPSHOT rows carry.
            CREATE TEMP TABLE prune_folded ON COMMIT DROP AS
                WITH keys AS (
                    SELECT DISTINCT d.source, d.schema, d."table", d.primary_key FROM prune_doomed d WHERE d.primary_key IS NOT NULL
                ), latest AS (
                    SELECT DISTINCT ON (c.source, c.schema, c."table", c.primary_key)
                           c.source, c.database, c.schema, c."table", c.primary_key, c.operation, c.after, c.committed_at, c.commit_lsn, c.ordinal
                    FROM keys k
                    JOIN hindsight.changes c ON c."table" = k."table" AND c.primary_key = k.primary_key AND c.source = k.source AND c.schema = k.schema
                    WHERE c.committed_at < horizon
                    ORDER BY c.source, c.schema, c."table", c.primary_key, c.committed_at DESC, c.commit_lsn DESC, c.ordinal DESC
                ), barrier AS (
                    SELECT DISTINCT ON (b.source, b.schema, b."table") b.source, b.schema, b."table", b.committed_at, b.commit_lsn, b.ordinal
                    FROM (SELECT c.source, c.schema, c."table", c.committed_at, c.commit_lsn, c.ordinal
                          FROM hindsight.changes c
                          WHERE c.primary_key IS NULL AND c.operation = 'TRUNCATE' AND c.committed_at < horizon
                            AND (tables IS NULL OR (c.schema, c."table") IN (SELECT u.s, u.t FROM unnest(schemas, tables) u(s, t)))
                          UNION ALL
                          SELECT l.source, l.schema, l."table", l.taken_at, l.lsn, -2147483648
                          FROM hindsight.baselines l WHERE l.taken_at < horizon) b
                    ORDER BY b.source, b.schema, b."table", b.committed_at DESC, b.commit_lsn DESC, b.ordinal DESC
                )
                SELECT l.source, l.database, l.schema, l."table", l.primary_key, l.after, lsn.commit_lsn
                FROM latest l
                JOIN (SELECT d.source, max(d.commit_lsn) AS commit_lsn FROM prune_doomed d GROUP BY d.source) lsn ON lsn.source = l.source
                LEFT JOIN barrier t ON t.source = l.source AND t.schema = l.schema AND t."table" = l."table"
                WHERE l.operation <> 'DELETE'
                  AND (t.source IS NULL OR (l.committed_at, l.commit_lsn, l.ordinal) > (t.committed_at, t.commit_lsn, t.ordinal));

            CREATE TEMP TABLE prune_summary ON COMMIT DROP AS
                SELECT d.source, d.schema, d."table", count(*) AS pruned,
                       (SELECT count(*) FROM prune_folded f WHERE f.source = d.source AND f.schema = d.schema AND f."table" = d."table") AS folded,
                       (SELECT count(*) FROM hindsight.changes c
                        WHERE c."table" = d."table" AND c.schema = d.schema AND c.source = d.source AND c.committed_at < horizon) - count(*) AS held,
                       max(d.id) AS max_id
                FROM prune_doomed d GROUP BY d.source, d.schema, d."table";

            IF NOT dry_run THEN
                INSERT INTO hindsight.prunes (source, schema, "table", horizon, pruned, folded, held, max_id)
                SELECT s.source, s.schema, s."table", horizon, s.pruned, s.folded, s.held, s.max_id FROM prune_summary s;

                -- Whole partitions first: those wholly before the horizon in which every change is pruned.
                FOR part IN SELECT p.partition, p.lower, p.upper FROM hindsight.change_partitions() p WHERE p.upper <= horizon ORDER BY p.lower LOOP
                    EXECUTE format('SELECT count(*) FROM %s', part.partition) INTO n;
                    IF n = (SELECT count(*) FROM prune_doomed d WHERE d.part = part.partition) THEN
                        dropped := dropped || part.partition::text; -- its name while it still has one
                        DELETE FROM prune_doomed d WHERE d.part = part.partition;
                        EXECUTE format('DROP TABLE %s', part.partition);{{afterDrop}}
                    END IF;
                END LOOP;
                DELETE FROM hindsight.changes c USING prune_doomed d
                WHERE c.id = d.id AND c.committed_at = d.committed_at AND c.committed_at < horizon;

                INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, before, after, context,
                                               committed_at, transaction_id, position, commit_lsn, ordinal, queued_at)
                SELECT f.source, f.database, f.schema, f."table", f.primary_key, 'SNAPSHOT', '{}', f.after,
                       jsonb_build_object('prunedUpTo', to_char(horizon, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
                       horizon, 0, f.commit_lsn, f.commit_lsn,
                       (-row_number() OVER (PARTITION BY f.source ORDER BY f.schema, f."table", f.primary_key))::int, now()
                FROM prune_folded f;
            END IF;

            RETURN QUERY SELECT s.source::text, s.schema::text, s."table"::text, s.pruned, s.folded, s.held, dropped
                         FROM prune_summary s ORDER BY 1, 2, 3;
            DROP TABLE prune_doomed, prune_folded, prune_summary;
        END
        $fn$;
        """;
}
