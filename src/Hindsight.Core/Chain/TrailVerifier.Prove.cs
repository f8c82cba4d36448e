using Npgsql;

namespace Hindsight.Chain;

public sealed partial class TrailVerifier
{
    /// <summary>
    /// Proves that change <paramref name="changeId"/> is in <paramref name="checkpoint"/>'s tree (by default the newest
    /// checkpoint recorded in the store that covers it). The proof is checked before it is returned.
    /// </summary>
    /// <exception cref="ChainException">No such change; it is outside the chain; no checkpoint covers it; or the store's
    /// tree does not lead to the checkpoint's root (run a verification).</exception>
    public async Task<InclusionProof> ProveAsync(long changeId, SignedCheckpoint? checkpoint = null, CancellationToken cancellationToken = default)
    {
        var ct = cancellationToken;
        var conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        var (found, block, newest) = await LocateAsync(conn, changeId, ct).ConfigureAwait(false);
        var change = found ?? throw new ChainException($"the store has no change with id {changeId}");
        if (change.Ordinal < 0)
            throw new ChainException($"change {changeId} is a {change.Operation} row of a baseline or a prune, derived by Hindsight: it is outside the chain");
        if (block is null)
            throw new ChainException($"change {changeId} is in no block of source '{change.Source}': it was stored before the chain began, or inserted after the fact");
        if (!block.IsWellFormed) throw new ChainException($"block {block.Number:N0} is malformed: run a verification (hindsight verify)");

        if (checkpoint is null)
            checkpoint = newest ?? throw new ChainException(
                $"no checkpoint covers block {block.Number:N0} of source '{change.Source}' yet: make one (hindsight checkpoint) and try again");
        else if (checkpoint.Checkpoint.Source != change.Source)
            throw new ChainException($"change {changeId} is of source '{change.Source}'; the checkpoint given is of '{checkpoint.Checkpoint.Source}'");
        else if (checkpoint.Checkpoint.Blocks <= block.Number)
            throw new ChainException($"change {changeId} is in block {block.Number:N0}, after the checkpoint given ({checkpoint.Checkpoint.Blocks:N0} blocks): use a newer one");

        // The change's place in its run, and its run's place in the block.
        var (run, firstLeaf) = RunOf(block, change);
        var runIndex = Array.IndexOf(block.Runs, run);
        var leafIndex = change.Ordinal - run.FirstOrdinal;
        var runLeaves = block.Leaves.AsMemory(firstLeaf * MerkleTree.HashSize, run.Count * MerkleTree.HashSize);
        var runPath = MerkleTree.Path(leafIndex, run.Count, (start, size) => MerkleTree.Root(runLeaves.Span.Slice((int)start * MerkleTree.HashSize, (int)size * MerkleTree.HashSize), (int)size));
        var runRoots = ChainBlock.RunRoots(block.Runs, block.Leaves);
        var blockPath = MerkleTree.Path(runIndex, block.Runs.Length, (start, size) => MerkleTree.Root(runRoots.AsSpan((int)start * MerkleTree.HashSize, (int)size * MerkleTree.HashSize), (int)size));
        var treePath = await TreePathAsync(conn, change.Source, block.Number, checkpoint.Checkpoint.Blocks, ct).ConfigureAwait(false);

        var proof = new InclusionProof(change, run, leafIndex, runPath, block.Number, block.PreviousHash, block.Changes, block.PriorChanges,
            ChainBlock.RunsDigest(block.Runs), runIndex, block.Runs.Length, blockPath, treePath, checkpoint);
        if (proof.Problem(null) is { } problem)
            throw new ChainException($"change {changeId} cannot be proved against the checkpoint of {Checkpoint.Time(checkpoint.Checkpoint.MadeAt)}: {problem}. " +
                                     "The store's chain differs from what was signed: run a verification (hindsight verify)");
        return proof;
    }

    /// <summary>
    /// Checks one change against the chain: its leaf against the one its block recorded, and the block against its hash.
    /// A quick check for a screen that shows the change; a full <see cref="VerifyAsync"/> also checks the links, the other
    /// changes and the checkpoints' signatures.
    /// </summary>
    /// <returns>Null when the store has no such change.</returns>
    /// <exception cref="ChainException">The store keeps no chain.</exception>
    public async Task<ChangeVerification?> VerifyChangeAsync(long changeId, CancellationToken cancellationToken = default)
    {
        var ct = cancellationToken;
        var conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        var (found, block, checkpoint) = await LocateAsync(conn, changeId, ct).ConfigureAwait(false);
        if (found is not { } change) return null;
        if (change.Ordinal < 0) return new ChangeVerification(changeId, change.Source, ChangeVerificationState.Derived, null, null);
        if (block is null) return new ChangeVerification(changeId, change.Source, ChangeVerificationState.NotChained, null, null);
        var state = ChangeVerificationState.Altered;
        if (block.IsWellFormed)
        {
            var (run, firstLeaf) = RunOf(block, change);
            var leaf = new byte[MerkleTree.HashSize];
            new ChangeLeaf().FromStored(change, leaf);
            var recorded = block.Leaves.AsSpan((firstLeaf + change.Ordinal - run.FirstOrdinal) * MerkleTree.HashSize, MerkleTree.HashSize);
            var root = MerkleTree.Root(ChainBlock.RunRoots(block.Runs, block.Leaves), block.Runs.Length);
            var hash = ChainBlock.HashOf(change.Source, block.Number, block.PreviousHash, root, block.Changes, block.PriorChanges, block.Runs);
            if (recorded.SequenceEqual(leaf) && hash.AsSpan().SequenceEqual(block.Hash)) state = ChangeVerificationState.Verified;
        }
        return new ChangeVerification(changeId, change.Source, state, block.Number, checkpoint);
    }

    /// <summary>
    /// The change, the block that records it and the newest checkpoint recorded that covers that block, in one round trip
    /// (a proof is asked for one at a time, by people and pages waiting for it). The block is found by the GIN index on
    /// its runs' commit LSNs, then by the ordinal, without reading the leaves of the other blocks of a large transaction.
    /// </summary>
    /// <exception cref="ChainException">The store keeps no chain.</exception>
    private static async Task<(StoredChange? Change, StoredBlock? Block, SignedCheckpoint? Checkpoint)> LocateAsync(NpgsqlConnection conn, long id,
        CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            $"""
            SELECT {string.Join(", ", ChangeLeaf.StoredColumns.Split(", ").Select(x => "c." + x))}, c.source, {string.Join(", ", StoredBlock.Columns.Split(", ").Select(x => "b." + x))}, k.document
              FROM hindsight.changes c
              LEFT JOIN LATERAL (
                  SELECT * FROM hindsight.chain_blocks b
                   WHERE b.source = c.source AND b.run_commit_lsns @> ARRAY[c.commit_lsn]
                     AND EXISTS (SELECT 1 FROM unnest(b.run_commit_lsns, b.run_first_ordinals, b.run_counts) u(lsn, first, n)
                                  WHERE u.lsn = c.commit_lsn AND c.ordinal >= u.first AND c.ordinal < u.first + u.n)
                   ORDER BY b.block LIMIT 1) b ON c.ordinal > 0
              LEFT JOIN LATERAL (
                  SELECT document FROM hindsight.checkpoints k WHERE k.source = c.source AND k.blocks > b.block
                   ORDER BY k.blocks DESC, k.id DESC LIMIT 1) k ON true
             WHERE c.id = $1
            """, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(id);
        NpgsqlDataReader r;
        try { r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false); }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            throw new ChainException(Checkpoints.NoChain, e);
        }
        await using var rDisposal = r.ConfigureAwait(false);
        if (!await r.ReadAsync(ct).ConfigureAwait(false)) return (null, null, null);
        var change = Read(r, r.GetString(14));
        var block = r.IsDBNull(15) ? null : StoredBlock.Read(r, 15);
        SignedCheckpoint? checkpoint = null;
        if (!r.IsDBNull(27))
            try { checkpoint = SignedCheckpoint.Parse(r.GetString(27)); } catch (FormatException) { /* an unreadable record covers nothing */ }
        return (change, block, checkpoint);
    }

    private static bool Holds(ChainRun run, StoredChange change) =>
        run.CommitLsn == change.CommitLsn && change.Ordinal >= run.FirstOrdinal && change.Ordinal < run.FirstOrdinal + run.Count;

    // The run of a block that holds the change, and where its leaves start in the block.
    private static (ChainRun Run, int FirstLeaf) RunOf(StoredBlock block, StoredChange change)
    {
        var firstLeaf = 0;
        foreach (var run in block.Runs)
        {
            if (Holds(run, change)) return (run, firstLeaf);
            firstLeaf += run.Count;
        }
        throw new InvalidOperationException("the block does not hold the change");
    }

    /// <summary>
    /// The audit path of block <paramref name="index"/> in the tree of the first <paramref name="size"/> block hashes.
    /// Every sibling is a run of perfect subtrees; each is hashed from the nodes kept at levels 16 and 8 where it is that
    /// large, else from block hashes: at most a few hundred hashes read, in two queries, however long the chain.
    /// </summary>
    private static async Task<List<byte[]>> TreePathAsync(NpgsqlConnection conn, string source, long index, long size, CancellationToken ct)
    {
        // First which perfect subtrees the path needs, then one read per kind of stored hash, then the hashes.
        var siblings = new List<(long Start, long Size)>();
        MerkleTree.Path(index, size, (start, n) => { siblings.Add((start, n)); return MerkleTree.EmptyRoot; });
        var perfect = siblings.SelectMany(s => Perfect(s.Start, s.Size)).ToList();
        var wanted = new Dictionary<int, SortedSet<long>> { [0] = [], [8] = [], [16] = [] };
        foreach (var (start, level) in perfect)
        {
            var stored = StoredLevelFor(level);
            for (long i = start >> stored, end = (start + (1L << level)) >> stored; i < end; i++) wanted[stored].Add(i);
        }
        var hashes = new Dictionary<(int, long), byte[]>();
        if (wanted[0].Count > 0)
        {
            var cmd = new NpgsqlCommand("SELECT block, hash FROM hindsight.chain_blocks WHERE source = $1 AND block = ANY($2)", conn);
            await using var cmdDisposal = cmd.ConfigureAwait(false);
            cmd.Parameters.AddWithValue(source);
            cmd.Parameters.AddWithValue(wanted[0].ToArray());
            var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await using (r.ConfigureAwait(false))
                while (await r.ReadAsync(ct).ConfigureAwait(false)) hashes[(0, r.GetInt64(0))] = r.GetFieldValue<byte[]>(1);
        }
        if (wanted[8].Count + wanted[16].Count > 0)
        {
            var cmd = new NpgsqlCommand(
                "SELECT n.level, n.index, n.hash FROM hindsight.chain_nodes n JOIN unnest($2::smallint[], $3::bigint[]) w(level, index) " +
                "ON n.level = w.level AND n.index = w.index WHERE n.source = $1", conn);
            await using var cmdDisposal = cmd.ConfigureAwait(false);
            cmd.Parameters.AddWithValue(source);
            cmd.Parameters.AddWithValue(wanted[8].Select(_ => (short)8).Concat(wanted[16].Select(_ => (short)16)).ToArray());
            cmd.Parameters.AddWithValue(wanted[8].Concat(wanted[16]).ToArray());
            var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await using (r.ConfigureAwait(false))
                while (await r.ReadAsync(ct).ConfigureAwait(false)) hashes[(r.GetInt16(0), r.GetInt64(1))] = r.GetFieldValue<byte[]>(2);
        }

        byte[] PerfectHash(long start, int level)
        {
            var stored = StoredLevelFor(level);
            var first = start >> stored;
            var count = 1 << (level - stored);
            var leaves = new byte[count * MerkleTree.HashSize];
            for (var i = 0; i < count; i++)
            {
                if (!hashes.TryGetValue((stored, first + i), out var h))
                    throw new ChainException(stored == 0
                        ? $"block {first + i:N0} of source '{source}' is missing: run a verification (hindsight verify)"
                        : $"the tree node at level {stored}, index {first + i} of source '{source}' is missing from hindsight.chain_nodes");
                h.CopyTo(leaves, i * MerkleTree.HashSize);
            }
            return MerkleTree.Root(leaves, count);
        }
        byte[] Subtree(long start, long n)
        {
            if (long.IsPow2(n)) return PerfectHash(start, (int)long.Log2(n));
            var k = MerkleTree.LargestPowerOfTwoBelow(n);
            return MerkleTree.Node(Subtree(start, k), Subtree(start + k, n - k));
        }
        return siblings.Select(s => Subtree(s.Start, s.Size)).ToList();
    }

    // The perfect subtrees (start, level) a range of the tree splits into, the way RFC 6962's tree splits it.
    private static IEnumerable<(long Start, int Level)> Perfect(long start, long n)
    {
        while (n > 0)
        {
            if (long.IsPow2(n)) { yield return (start, (int)long.Log2(n)); yield break; }
            var k = MerkleTree.LargestPowerOfTwoBelow(n);
            yield return (start, (int)long.Log2(k));
            start += k;
            n -= k;
        }
    }

    // Which stored hashes a perfect subtree of 2^level blocks is computed from: kept nodes where it is that large.
    private static int StoredLevelFor(int level) => level >= 16 ? 16 : level >= 8 ? 8 : 0;
}
