using System.Data;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Revert;

/// <summary>One row the trail knows, as the source holds it now, compared by PostgreSQL with the trail's images.</summary>
/// <param name="Live">The source row now (<c>to_jsonb</c>), or null when it does not exist.</param>
/// <param name="SameAsTarget">Whether it equals the target image on the columns both have.</param>
/// <param name="SameAsNewest">Whether it equals the trail's newest image on the columns both have.</param>
internal sealed record LiveRow(string? Live, bool SameAsTarget, bool SameAsNewest);

/// <summary>
/// The source side of a rollback: the rows the trail knows (found by key, compared with the images by PostgreSQL itself),
/// the rows it does not know, and, when applying, the re-check that a row is still as the plan saw it.
/// </summary>
/// <remarks>
/// Images are compared as <c>to_jsonb(jsonb_populate_record(NULL::table, image))</c> against <c>to_jsonb</c> of the live
/// row, both rendered by the same session: values the session renders differently from the capture (a timestamptz under
/// another TimeZone, a number's spelling) still compare equal when the values are.
/// </remarks>
internal static class RollbackSource
{
    /// <summary>
    /// For each known key (its key image, target image or null, newest image or null), the source row now, in input
    /// order; then the source rows whose key none of the images has. One REPEATABLE READ snapshot for both.
    /// </summary>
    public static async Task<(List<LiveRow> Known, List<string> Unknown)> ReadAsync(NpgsqlConnection source, RevertTable t,
        IReadOnlyList<string> keyImages, IReadOnlyList<string?> targets, IReadOnlyList<string?> newest, CancellationToken ct)
    {
        var tx = await source.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct).ConfigureAwait(false);
        await using var txDisposal = tx.ConfigureAwait(false);
        var known = new List<LiveRow>(keyImages.Count);
        // Columns equal on what both have: the image's columns that the table still has.
        static string Same(string image, string record) => $"""
            NOT EXISTS (SELECT 1 FROM jsonb_each(to_jsonb({record}.*)) e
                        WHERE k.{image} ? e.key AND to_jsonb(t.*) ? e.key AND e.value IS DISTINCT FROM to_jsonb(t.*) -> e.key)
            """;
        var sql = $"""
            SELECT to_jsonb(t.*)::text, {Same("target", "g")}, {Same("newest", "n")}
            FROM unnest($1::jsonb[], $2::jsonb[], $3::jsonb[]) WITH ORDINALITY AS k(key, target, newest, i)
            CROSS JOIN LATERAL jsonb_populate_record(NULL::{t.Quoted}, k.key) AS ki
            LEFT JOIN {t.Quoted} AS t ON {t.KeyMatch("t", "ki")}
            CROSS JOIN LATERAL jsonb_populate_record(NULL::{t.Quoted}, k.target) AS g
            CROSS JOIN LATERAL jsonb_populate_record(NULL::{t.Quoted}, k.newest) AS n
            ORDER BY k.i
            """;
        {
            var cmd = new NpgsqlCommand(sql, source, tx);
            await using (cmd.ConfigureAwait(false))
            {
                cmd.Parameters.Add(Texts(keyImages));
                cmd.Parameters.Add(Texts(targets));
                cmd.Parameters.Add(Texts(newest));
                var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var rDisposal = r.ConfigureAwait(false);
                while (await r.ReadAsync(ct).ConfigureAwait(false))
                    known.Add(new LiveRow(r.IsDBNull(0) ? null : r.GetString(0), r.GetBoolean(1), r.GetBoolean(2)));
            }
        }

        var unknown = new List<string>();
        var order = string.Join(", ", t.Key.Select(k => "t." + Postgres.PgNames.Quote(k)));
        var unknownSql = $"""
            SELECT to_jsonb(t.*)::text FROM {t.Quoted} AS t
            WHERE NOT EXISTS (SELECT 1 FROM unnest($1::jsonb[]) AS k(key), jsonb_populate_record(NULL::{t.Quoted}, k.key) AS ki
                              WHERE {t.KeyMatch("t", "ki")})
            ORDER BY {order}
            """;
        {
            var cmd = new NpgsqlCommand(unknownSql, source, tx);
            await using (cmd.ConfigureAwait(false))
            {
                cmd.Parameters.Add(Texts(keyImages));
                var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var rDisposal = r.ConfigureAwait(false);
                while (await r.ReadAsync(ct).ConfigureAwait(false)) unknown.Add(r.GetString(0));
            }
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return (known, unknown);
    }

    /// <summary>
    /// Why the row is no longer as <paramref name="expected"/> says the plan saw it, or null when it is; locks the row
    /// (FOR UPDATE) so it cannot move on before the rollback commits. A row expected absent cannot be locked: a concurrent
    /// insert of it makes the rollback's INSERT fail, which rolls everything back too. The row is compared with the
    /// source row the plan read (<c>to_jsonb</c>), never with a stored image, so redacted or ignored columns need no care here.
    /// </summary>
    public static async Task<string?> ChangedSinceAsync(NpgsqlConnection source, NpgsqlTransaction tx, RevertTable t, RowExpectation expected,
        CancellationToken ct)
    {
        var sql = $"SELECT coalesce(to_jsonb(t.*) = $2::jsonb, false) FROM {t.Quoted} AS t, {t.Image("$1")} AS k WHERE {t.KeyMatch("t", "k")} FOR UPDATE OF t";
        var cmd = new NpgsqlCommand(sql, source, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.Add(new NpgsqlParameter { Value = expected.KeyImage, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)expected.Row ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        var same = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return (expected.Row, same) switch
        {
            (null, null) => null,
            (null, _) => "the row exists now, but did not when the plan was made",
            (_, null) => "the row is gone, but existed when the plan was made",
            (_, true) => null,
            _ => "the row differs from what the plan saw",
        };
    }

    private static NpgsqlParameter Texts(IReadOnlyList<string?> values) =>
        new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };
}
