using Npgsql;

namespace Hindsight.Chain;

/// <summary>A block as the verifier reads it back, with where each of its runs' leaves start.</summary>
internal sealed record StoredBlock(
    long Number, byte[] PreviousHash, byte[] Hash, int Changes, long TotalChanges, long PriorChanges,
    ChainRun[] Runs, byte[] Leaves, DateTimeOffset CreatedAt)
{
    /// <summary>The columns <see cref="Read"/> expects, in order.</summary>
    public const string Columns =
        "block, prev_hash, hash, changes, total_changes, prior_changes, run_commit_lsns, run_first_ordinals, run_counts, run_committed_ats, leaves, created_at";

    /// <summary>Reads the current row of a query selecting <see cref="Columns"/>, from column <paramref name="at"/> on.</summary>
    public static StoredBlock Read(NpgsqlDataReader r, int at = 0)
    {
        var lsns = r.GetFieldValue<long[]>(at + 6);
        var firsts = r.GetFieldValue<int[]>(at + 7);
        var counts = r.GetFieldValue<int[]>(at + 8);
        var times = r.GetFieldValue<DateTime[]>(at + 9);
        var n = Math.Min(Math.Min(lsns.Length, firsts.Length), Math.Min(counts.Length, times.Length));
        var runs = new ChainRun[n];
        for (var i = 0; i < n; i++) runs[i] = new ChainRun(lsns[i], firsts[i], counts[i], Micros(times[i]));
        return new StoredBlock(r.GetInt64(at), r.GetFieldValue<byte[]>(at + 1), r.GetFieldValue<byte[]>(at + 2), r.GetInt32(at + 3), r.GetInt64(at + 4),
            r.GetInt64(at + 5), runs, r.GetFieldValue<byte[]>(at + 10), r.GetFieldValue<DateTimeOffset>(at + 11));
    }

    /// <summary>Microseconds since 1970 of a UTC time read from the store.</summary>
    public static long Micros(DateTime utc) => (utc.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    /// <summary>True when the runs describe exactly the leaves the block holds.</summary>
    public bool IsWellFormed =>
        Leaves.Length == (long)Changes * MerkleTree.HashSize && Runs.Sum(r => (long)r.Count) == Changes && Runs.All(r => r.Count > 0) &&
        Hash.Length == MerkleTree.HashSize && PreviousHash.Length == MerkleTree.HashSize;
}
