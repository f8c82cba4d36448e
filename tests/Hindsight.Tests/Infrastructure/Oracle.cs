namespace Hindsight.Tests.Infrastructure;

/// <summary>
/// A test-only audit trigger: PostgreSQL itself records <c>to_jsonb()</c> of every row version it
/// writes, with the transaction id, into <c>oracle.log</c> (a schema that is not published). It is
/// the independent record captured changes are compared with.
/// </summary>
public static class Oracle
{
    /// <summary>Creates the oracle schema and its trigger function.</summary>
    public const string Install =
        """
        CREATE SCHEMA IF NOT EXISTS oracle;
        CREATE TABLE IF NOT EXISTS oracle.log (
            seq bigserial PRIMARY KEY, xid bigint NOT NULL DEFAULT txid_current(),
            tbl text NOT NULL, op text NOT NULL, before jsonb NOT NULL, after jsonb NOT NULL);
        CREATE OR REPLACE FUNCTION oracle.record() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO oracle.log (tbl, op, before, after) VALUES (
            TG_TABLE_NAME,
            CASE TG_OP WHEN 'INSERT' THEN 'CREATE' ELSE TG_OP END,
            CASE WHEN TG_OP = 'INSERT' THEN '{}'::jsonb ELSE to_jsonb(OLD) END,
            CASE WHEN TG_OP = 'DELETE' THEN '{}'::jsonb ELSE to_jsonb(NEW) END);
          RETURN NULL;
        END $$;
        """;

    /// <summary>SQL attaching the oracle trigger to a table.</summary>
    public static string Attach(string table) =>
        $"CREATE TRIGGER oracle_record AFTER INSERT OR UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION oracle.record();";

    /// <summary>
    /// Pairs the n-th stored change of a table with the n-th oracle record (both in commit order, then
    /// order within the transaction) and returns every pair whose operation or images differ, compared
    /// by PostgreSQL as jsonb. Also reports a count mismatch as a missing/extra row.
    /// </summary>
    public const string Mismatches =
        """
        WITH c AS (
            SELECT row_number() OVER (ORDER BY commit_lsn, ordinal) AS n, operation, before, after
            FROM hindsight.changes WHERE "table" = $1),
        o AS (
            SELECT row_number() OVER (ORDER BY seq) AS n, op AS operation, before, after
            FROM oracle.log WHERE tbl = $1)
        SELECT coalesce(c.n, o.n)::text, c.operation, o.operation, c.before::text, o.before::text, c.after::text, o.after::text
        FROM c FULL JOIN o USING (n)
        WHERE c.n IS NULL OR o.n IS NULL OR c.operation <> o.operation OR c.before <> o.before OR c.after <> o.after
        ORDER BY 1 LIMIT 20
        """;
}
