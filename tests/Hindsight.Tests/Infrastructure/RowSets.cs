using Hindsight.Query;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Tests.Infrastructure;

/// <summary>
/// Compares two sets of row images inside PostgreSQL (jsonb equality), joined on key columns: the expected side is
/// PostgreSQL's own (<c>to_jsonb()</c> of a real copy of a table), the other what the store or an as-of result holds.
/// </summary>
public static class RowSets
{
    /// <summary>The images of an as-of result, as the actual side of <see cref="DifferencesAsync"/>.</summary>
    public const string Images = "SELECT j FROM unnest($1::jsonb[]) AS u(j)";

    /// <summary>
    /// Every pair that differs: (expected, actual) as text, <c>(missing)</c> for a row on one side only. Both queries
    /// return one jsonb column named <c>j</c>; with <paramref name="images"/>, <paramref name="actualSql"/> may read
    /// them as <c>$1</c> (<see cref="Images"/>).
    /// </summary>
    public static async Task<List<(string Expected, string Actual)>> DifferencesAsync(NpgsqlDataSource db, string expectedSql, string actualSql,
        IEnumerable<string> keys, string[]? images = null)
    {
        var join = string.Join(" AND ", keys.Select(k => $"e.j->'{k}' = a.j->'{k}'"));
        await using var cmd = db.CreateCommand(
            $"""
            WITH e AS ({expectedSql}), a AS ({actualSql})
            SELECT coalesce(e.j::text, '(missing)'), coalesce(a.j::text, '(missing)')
            FROM e FULL JOIN a ON {join}
            WHERE e.j IS NULL OR a.j IS NULL OR e.j <> a.j
            """);
        if (images is not null)
            cmd.Parameters.Add(new NpgsqlParameter { Value = images, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        var differences = new List<(string, string)>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync()) differences.Add((r.GetString(0), r.GetString(1)));
        return differences;
    }

    /// <summary>The rows of an as-of result against <paramref name="expectedSql"/>.</summary>
    public static Task<List<(string Expected, string Actual)>> DifferencesAsync(NpgsqlDataSource db, string expectedSql,
        IReadOnlyList<AsOfRow> rows, IEnumerable<string> keys) =>
        DifferencesAsync(db, expectedSql, Images, keys, rows.Select(r => System.Text.Encoding.UTF8.GetString(r.RowJson.Span)).ToArray());
}
