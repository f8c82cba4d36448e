using Hindsight.Postgres;
using Npgsql;

namespace Hindsight.Setup;

/// <summary>
/// A baseline of the rows that existed when tracking began (<c>setup --snapshot</c>): every published table read in the
/// snapshot the slot exported when it was created, so the baseline and the changes the slot streams meet exactly.
/// </summary>
/// <param name="Lsn">The slot's consistent point: the baseline shows every transaction committed before it, the slot streams every one after.</param>
/// <param name="TakenAt">The SNAPSHOT rows' commit time: the source's clock just before the slot was created.</param>
/// <param name="Created">Whether this run took it (false: it was stored by an earlier setup).</param>
/// <param name="Tables">Its tables.</param>
public sealed record BaselineReport(string Lsn, DateTimeOffset TakenAt, bool Created, IReadOnlyList<BaselineTable> Tables)
{
    /// <summary>Rows stored over all tables.</summary>
    public long Rows => Tables.Sum(t => t.Rows);

    /// <summary>The baseline stored for source <paramref name="source"/> and <paramref name="slot"/>, or null (also when the store has no baselines table yet).</summary>
    internal static async Task<BaselineReport?> ReadAsync(NpgsqlDataSource store, string source, string slot, CancellationToken ct)
    {
        var conn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        if (!await Store.StoreMigrations.HasBaselinesAsync(conn, null, ct).ConfigureAwait(false)) return null;
        // The baseline the slot started at: teardown ends it (ended_at), and a new setup --snapshot takes a new one.
        var cmd = new NpgsqlCommand(
            """
            SELECT b.schema, b."table", b.rows, b.lsn, b.taken_at
            FROM hindsight.baselines b
            WHERE b.source = $1 AND b.slot = $2 AND b.ended_at IS NULL
            ORDER BY 1, 2
            """, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(source);
        cmd.Parameters.AddWithValue(slot);
        var tables = new List<BaselineTable>();
        long lsn = 0;
        DateTimeOffset takenAt = default;
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            tables.Add(new BaselineTable(r.GetString(0), r.GetString(1), r.GetInt64(2)));
            lsn = r.GetInt64(3);
            takenAt = r.GetFieldValue<DateTimeOffset>(4);
        }
        return tables.Count == 0 ? null : new BaselineReport(PgNames.FormatLsn((ulong)lsn), takenAt, false, tables);
    }
}
