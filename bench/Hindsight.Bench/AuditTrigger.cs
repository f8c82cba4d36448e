namespace Hindsight.Bench;

/// <summary>
/// The classic alternative the cost figure compares with: a row-level AFTER trigger on each pgbench table writing
/// <c>to_jsonb(OLD)</c> / <c>to_jsonb(NEW)</c> into an audit table, inside the audited transaction.
/// </summary>
internal static class AuditTrigger
{
    private static readonly string[] Tables = ["pgbench_accounts", "pgbench_tellers", "pgbench_branches", "pgbench_history"];

    // A typical shape (cf. the PostgreSQL wiki's audit trigger): identity key, and an index to find a table's changes by time.
    public static string Sql => SqlFor(Tables);

    /// <summary>The audit schema, table and function, and the trigger on each of <paramref name="tables"/> (in schema public).</summary>
    public static string SqlFor(IEnumerable<string> tables) =>
        """
        CREATE SCHEMA audit;
        CREATE TABLE audit.log (
            id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            table_name     text        NOT NULL,
            operation      text        NOT NULL,
            old_row        jsonb,
            new_row        jsonb,
            changed_at     timestamptz NOT NULL DEFAULT now(),
            transaction_id bigint      NOT NULL DEFAULT txid_current()
        );
        CREATE INDEX log_table_time_idx ON audit.log (table_name, changed_at);
        CREATE FUNCTION audit.log_row() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO audit.log (table_name, operation, old_row, new_row)
          VALUES (TG_TABLE_NAME, TG_OP,
                  CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
                  CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
          RETURN NULL;
        END $$;
        """ +
        string.Concat(tables.Select(t =>
            $"\nCREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE ON public.{t} FOR EACH ROW EXECUTE FUNCTION audit.log_row();"));
}
