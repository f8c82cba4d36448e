namespace Hindsight.Capture;

/// <summary>
/// The one definition capture and baselines share of "a table's primary key columns, in key order": read from
/// <c>pg_index.indisprimary</c>, never from pgoutput's key flags (under REPLICA IDENTITY FULL every column is flagged).
/// Both must agree, or a baseline row and a captured change of the same row would carry different keys.
/// </summary>
internal static class PrimaryKeySql
{
    /// <summary>A query of the names of the primary key columns (text) of the table whose oid is the SQL expression
    /// <paramref name="tableOid"/> (a parameter, or a column of an outer query), in key order; no rows without a key.</summary>
    public static string ColumnNames(string tableOid) =>
        $"""
        SELECT a.attname::text
        FROM pg_index i
        JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = {tableOid} AND i.indisprimary
        ORDER BY k.n
        """;

    /// <summary>The same names as a JSON array (<c>[]</c> without a key), as one SQL expression.</summary>
    public static string NamesJson(string tableOid) =>
        $"""
        (SELECT coalesce(jsonb_agg(a.attname ORDER BY k.n), '[]')
         FROM pg_index i
         JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE i.indrelid = {tableOid} AND i.indisprimary)
        """;
}
