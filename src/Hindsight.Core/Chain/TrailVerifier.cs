using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Hindsight.Chain;

/// <summary>
/// Recomputes a store's chains (docs/verification.md): every block's hash and link, every stored change's leaf against
/// the one its block recorded, and every checkpoint's signature and root. Reports what is wrong, naming the change or
/// block: a value changed, a change deleted or inserted, two changes reordered, a block or checkpoint that does not match.
/// </summary>
/// <remarks>Reads the store only. Memory grows with the chain: about 40 bytes per chained change (its leaf and run).</remarks>
/// <param name="store">The store database (the one holding schema <c>hindsight</c>).</param>
public sealed partial class TrailVerifier(NpgsqlDataSource store)
{
    // Beyond this many suspect changes, the rest are counted and reported as they are, without looking for swaps.
    private const int MaxSuspects = 10_000;
    private const int MaxSwapSearch = 500;

    private readonly NpgsqlDataSource _store = store ?? throw new ArgumentNullException(nameof(store));

    /// <summary>Verifies the chain of one source, or of every source that has one.</summary>
    /// <exception cref="ChainException">The store keeps no chain, or the source named has none.</exception>
    public async Task<VerificationReport> VerifyAsync(VerificationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new VerificationOptions();
        var ct = cancellationToken;
        var conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        await Checkpoints.RequireChainAsync(conn, ct).ConfigureAwait(false);
        var sources = await ChainSourcesAsync(conn, options.Source, ct).ConfigureAwait(false);
        var keys = await StoredKeysAsync(conn, ct).ConfigureAwait(false);
        var stored = await StoredCheckpointsAsync(conn, options.Source, ct).ConfigureAwait(false);
        var breaks = new List<(ChainBreak Break, (long, long) Order)>();
        var results = new List<SourceVerification>();
        foreach (var file in options.Checkpoints.Where(c => !sources.Contains(c.Checkpoint.Source)))
            breaks.Add((new ChainBreak(file.Checkpoint.Source, ChainBreakKind.CheckpointMismatch,
                $"a checkpoint of source '{file.Checkpoint.Source}' ({file.Checkpoint.Blocks:N0} blocks, {Checkpoint.Time(file.Checkpoint.MadeAt)}) was given, " +
                "but the store holds no chain of that source: its whole chain was removed"), (long.MaxValue, 0)));
        foreach (var source in sources)
        {
            // A file may be a copy of a checkpoint the store also records: each is checked once.
            var checkpoints = stored.Where(c => c.Checkpoint.Source == source)
                .Concat(options.Checkpoints.Where(c => c.Checkpoint.Source == source))
                .DistinctBy(c => (c.KeyId, Convert.ToBase64String(c.Signature), Convert.ToBase64String(c.Checkpoint.SignedBytes()))).ToList();
            var (result, found) = await VerifySourceAsync(conn, source, options, checkpoints, keys, ct).ConfigureAwait(false);
            results.Add(result);
            breaks.AddRange(found);
        }
        var ordered = breaks.OrderBy(b => b.Order.Item1).ThenBy(b => b.Order.Item2).Select(b => b.Break).Take(Math.Max(1, options.MaxBreaks)).ToList();
        return new VerificationReport(results, ordered);
    }

    private static async Task<List<string>> ChainSourcesAsync(NpgsqlConnection conn, string? source, CancellationToken ct)
    {
        if (source is null)
        {
            var all = new NpgsqlCommand("SELECT DISTINCT source FROM hindsight.chain_blocks ORDER BY source", conn);
            await using var allDisposal = all.ConfigureAwait(false);
            var list = new List<string>();
            var r = await all.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await using (r.ConfigureAwait(false))
                while (await r.ReadAsync(ct).ConfigureAwait(false)) list.Add(r.GetString(0));
            return list;
        }
        var cmd = new NpgsqlCommand(
            """
            SELECT EXISTS (SELECT 1 FROM hindsight.chain_blocks WHERE source = $1),
                   EXISTS (SELECT 1 FROM hindsight.sources WHERE name = $1),
                   EXISTS (SELECT 1 FROM hindsight.changes WHERE source = $1)
            """, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(source);
        var e = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var eDisposal = e.ConfigureAwait(false);
        await e.ReadAsync(ct).ConfigureAwait(false);
        if (e.GetBoolean(0)) return [source];
        if (!e.GetBoolean(1) && !e.GetBoolean(2)) throw new ChainException($"the store has no source named '{source}'");
        throw new ChainException(e.GetBoolean(2)
            ? $"source '{source}' has changes but no chain: they were stored without one (by 'hindsight ingest', or with the chain off in hindsight.settings)"
            : $"source '{source}' has no chain yet: nothing has been stored since it was set up");
    }

    private static async Task<Dictionary<string, VerifyingKey>> StoredKeysAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var keys = new Dictionary<string, VerifyingKey>();
        var cmd = new NpgsqlCommand("SELECT key_id, public_key FROM hindsight.chain_keys", conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            try { keys[r.GetString(0)] = VerifyingKey.FromPem(r.GetString(1)); }
            catch (FormatException) { /* a damaged record: checkpoints signed by it are reported as unverifiable */ }
        }
        return keys;
    }

    private static async Task<List<SignedCheckpoint>> StoredCheckpointsAsync(NpgsqlConnection conn, string? source, CancellationToken ct)
    {
        var list = new List<SignedCheckpoint>();
        var cmd = new NpgsqlCommand("SELECT document FROM hindsight.checkpoints WHERE $1::text IS NULL OR source = $1 ORDER BY id", conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)source ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            try { list.Add(SignedCheckpoint.Parse(r.GetString(0))); }
            catch (FormatException) { /* an unreadable record proves nothing; the files kept elsewhere are what count */ }
        }
        return list;
    }

    private async Task<(SourceVerification, List<(ChainBreak, (long, long))>)> VerifySourceAsync(NpgsqlConnection conn, string source,
        VerificationOptions options, List<SignedCheckpoint> checkpoints, Dictionary<string, VerifyingKey> keys, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var breaks = new List<(ChainBreak, (long, long))>();
        void Add(ChainBreak b, long lsn, long ordinal) => breaks.Add((b, (lsn, ordinal)));

        // 1. The blocks: numbering, links, hashes; the tree over their hashes, against each checkpoint.
        var blocks = new List<StoredBlock>();
        var byBlocks = checkpoints.GroupBy(c => c.Checkpoint.Blocks).ToDictionary(g => g.Key, g => g.ToList());
        var tree = new MerkleFrontier();
        var previous = ChainBlock.Genesis;
        long priorChanges = 0;
        var checkedCount = 0;
        SignedCheckpoint? latest = null;
        var keyChecked = options.PublicKey is { } given ? $"the key given ({given.KeyId})" : "the store's own record of the signing keys";
        {
            var cmd = new NpgsqlCommand($"SELECT {StoredBlock.Columns} FROM hindsight.chain_blocks WHERE source = $1 ORDER BY block", conn);
            await using var cmdDisposal = cmd.ConfigureAwait(false);
            cmd.Parameters.AddWithValue(source);
            var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await using var rDisposal = r.ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                var b = StoredBlock.Read(r);
                var firstLsn = b.Runs.Length > 0 ? b.Runs[0].CommitLsn : 0;
                if (blocks.Count == 0) priorChanges = b.PriorChanges;
                if (b.Number != blocks.Count)
                    Add(new ChainBreak(source, ChainBreakKind.BlockAltered, b.Number > blocks.Count
                        ? $"blocks {blocks.Count:N0} to {b.Number - 1:N0} are missing: the chain goes from block {blocks.Count - 1:N0} to block {b.Number:N0}"
                        : $"block {b.Number:N0} is out of place") { Block = b.Number }, firstLsn, 0);
                if (!b.IsWellFormed)
                    Add(new ChainBreak(source, ChainBreakKind.BlockAltered,
                        $"block {b.Number:N0} is malformed: its runs describe {b.Runs.Sum(x => (long)x.Count):N0} changes, it says {b.Changes:N0} and holds {b.Leaves.Length / MerkleTree.HashSize:N0} leaves")
                        { Block = b.Number }, firstLsn, 0);
                else
                {
                    var root = MerkleTree.Root(ChainBlock.RunRoots(b.Runs, b.Leaves), b.Runs.Length);
                    var hash = ChainBlock.HashOf(source, b.Number, b.PreviousHash, root, b.Changes, b.PriorChanges, b.Runs);
                    if (!hash.AsSpan().SequenceEqual(b.Hash))
                        Add(new ChainBreak(source, ChainBreakKind.BlockAltered,
                            $"block {b.Number:N0} does not hash to its recorded hash: its leaves, runs or counts were altered") { Block = b.Number }, firstLsn, 0);
                }
                if (!b.PreviousHash.AsSpan().SequenceEqual(previous))
                    Add(new ChainBreak(source, ChainBreakKind.BlockAltered,
                        $"block {b.Number:N0} does not link to the block before it: its previous hash is not that block's hash") { Block = b.Number }, firstLsn, 0);
                if (b.PriorChanges != priorChanges)
                    Add(new ChainBreak(source, ChainBreakKind.BlockAltered,
                        $"block {b.Number:N0} says {b.PriorChanges:N0} changes came before the chain; block 0 says {priorChanges:N0}") { Block = b.Number }, firstLsn, 0);
                previous = b.Hash;
                tree.Append(b.Hash);
                blocks.Add(b);
                if (byBlocks.Remove(tree.Count, out var atSize))
                    foreach (var c in atSize)
                        if (CheckSignature(source, c, options.PublicKey, keys, Add))
                        {
                            checkedCount++;
                            var p = c.Checkpoint;
                            if (!p.Root.AsSpan().SequenceEqual(tree.Root()) || !p.Head.AsSpan().SequenceEqual(b.Hash) || p.Changes != b.TotalChanges)
                                Add(new ChainBreak(source, ChainBreakKind.CheckpointMismatch,
                                    $"the checkpoint of {Checkpoint.Time(p.MadeAt)} ({p.Blocks:N0} blocks, {p.Changes:N0} changes) does not match the chain: " +
                                    "its blocks were rewritten since it was signed") { Block = p.Blocks - 1 }, long.MaxValue, p.Blocks);
                            else if (latest is null || p.MadeAt > latest.Checkpoint.MadeAt) latest = c;
                        }
            }
        }
        foreach (var c in byBlocks.Values.SelectMany(x => x))
            if (CheckSignature(source, c, options.PublicKey, keys, Add))
            {
                checkedCount++;
                Add(new ChainBreak(source, ChainBreakKind.CheckpointMismatch,
                    $"the checkpoint of {Checkpoint.Time(c.Checkpoint.MadeAt)} names {c.Checkpoint.Blocks:N0} blocks; the chain holds {blocks.Count:N0}: blocks were removed")
                    { Block = c.Checkpoint.Blocks - 1 }, long.MaxValue, c.Checkpoint.Blocks);
            }

        // 2. The changes, in (commit LSN, ordinal) order, merged with the places the blocks record.
        var slots = new List<Slot>(blocks.Sum(b => b.Runs.Length));
        foreach (var b in blocks)
        {
            if (!b.IsWellFormed) continue;
            var at = 0;
            foreach (var run in b.Runs) { slots.Add(new Slot(run, b, at)); at += run.Count; }
        }
        var chainStart = slots.Count == 0 ? long.MaxValue : slots.Min(s => s.Run.CommitLsn);
        var floor = long.MinValue;
        if (options.Since is { } since)
            floor = slots.Where(s => s.Block.CreatedAt >= since).Select(s => s.Run.CommitLsn).DefaultIfEmpty(long.MaxValue).Min();
        slots.RemoveAll(s => s.Run.CommitLsn < floor);
        slots.Sort((a, b) => a.Run.CommitLsn != b.Run.CommitLsn ? a.Run.CommitLsn.CompareTo(b.Run.CommitLsn) : a.Run.FirstOrdinal.CompareTo(b.Run.FirstOrdinal));

        var (horizon, prunedLogged) = await PrunesAsync(conn, source, ct).ConfigureAwait(false);
        var mismatched = new List<(StoredChange Change, Slot Slot, int Offset)>();
        var missing = new List<(Slot Slot, int Offset)>();
        var inserted = new List<StoredChange>();
        long verified = 0, pruned = 0, beforeChain = 0, overflow = 0;
        var leaf = new ChangeLeaf();
        {
            var computed = new byte[MerkleTree.HashSize];
            var si = 0;
            var offset = 0;
            bool Expected(out long lsn, out int ordinal)
            {
                if (si >= slots.Count) { lsn = long.MaxValue; ordinal = int.MaxValue; return false; }
                lsn = slots[si].Run.CommitLsn;
                ordinal = slots[si].Run.FirstOrdinal + offset;
                return true;
            }
            void Next()
            {
                if (++offset >= slots[si].Run.Count) { si++; offset = 0; }
            }
            void Missing()
            {
                var s = slots[si];
                if (s.Run.CommittedAtMicros < horizon) pruned++;
                else if (missing.Count < MaxSuspects) missing.Add((s, offset));
                else overflow++;
                Next();
            }

            var cmd = new NpgsqlCommand(
                $"SELECT {ChangeLeaf.StoredColumns} FROM hindsight.changes WHERE source = $1 AND ordinal > 0 AND commit_lsn >= $2 ORDER BY commit_lsn, ordinal",
                conn) { CommandTimeout = 0 };
            await using var cmdDisposal = cmd.ConfigureAwait(false);
            cmd.Parameters.AddWithValue(source);
            cmd.Parameters.AddWithValue(floor);
            var sourceUtf8 = System.Text.Encoding.UTF8.GetBytes(source);
            var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await using (r.ConfigureAwait(false))
                while (await r.ReadAsync(ct).ConfigureAwait(false))
                {
                    // Hashed from the bytes as they came; a change is made into strings only when it is suspect.
                    var (changeLsn, changeOrdinal) = leaf.FromReader(r, sourceUtf8, computed);
                    long lsn; int ordinal;
                    while (Expected(out lsn, out ordinal) && (lsn < changeLsn || (lsn == changeLsn && ordinal < changeOrdinal))) Missing();
                    if (Expected(out lsn, out ordinal) && lsn == changeLsn && ordinal == changeOrdinal)
                    {
                        var s = slots[si];
                        if (computed.AsSpan().SequenceEqual(s.Leaf(offset))) verified++;
                        else if (mismatched.Count < MaxSuspects) mismatched.Add((Read(r, source), s, offset));
                        else overflow++;
                        Next();
                    }
                    else if (changeLsn < chainStart) beforeChain++;
                    else if (inserted.Count < MaxSuspects) inserted.Add(Read(r, source));
                    else overflow++;
                }
            while (Expected(out _, out _)) Missing();

            // Swaps: a suspect change that matches, at another suspect place, the leaf recorded there.
            var places = mismatched.Select(m => (m.Slot, m.Offset)).Concat(missing).Take(MaxSwapSearch).ToList();
            var explainedChanges = new HashSet<long>();
            var explainedPlaces = new HashSet<(long, int)>();
            foreach (var c in mismatched.Select(m => m.Change).Concat(inserted).Take(MaxSwapSearch))
                foreach (var (slot, at) in places)
                {
                    var (lsn, ordinal) = (slot.Run.CommitLsn, slot.Run.FirstOrdinal + at);
                    if ((lsn, ordinal) == (c.CommitLsn, c.Ordinal) || explainedPlaces.Contains((lsn, ordinal))) continue;
                    leaf.FromStored(c with { CommitLsn = lsn, Ordinal = ordinal }, computed);
                    if (!computed.AsSpan().SequenceEqual(slot.Leaf(at))) continue;
                    explainedChanges.Add(c.Id);
                    explainedPlaces.Add((lsn, ordinal));
                    Add(new ChainBreak(source, ChainBreakKind.ChangesReordered,
                        $"change {c.Id} ({Describe(c)}) was recorded at commit {Checkpoint.Lsn((ulong)lsn)} ordinal {ordinal} (block {slot.Block.Number:N0}) " +
                        $"but is stored at commit {Checkpoint.Lsn((ulong)c.CommitLsn)} ordinal {c.Ordinal}: changes were reordered")
                        { ChangeId = c.Id, Block = slot.Block.Number, CommitLsn = (ulong)c.CommitLsn, Ordinal = c.Ordinal, Table = $"{c.Schema}.{c.Table}", PrimaryKey = c.PrimaryKey },
                        Math.Min(lsn, c.CommitLsn), Math.Min(ordinal, c.Ordinal));
                    break;
                }
            foreach (var (c, slot, _) in mismatched.Where(m => !explainedChanges.Contains(m.Change.Id) && !explainedPlaces.Contains((m.Change.CommitLsn, m.Change.Ordinal))))
                Add(new ChainBreak(source, ChainBreakKind.ValueChanged,
                    $"change {c.Id} ({Describe(c)}, commit {Checkpoint.Lsn((ulong)c.CommitLsn)} ordinal {c.Ordinal}) does not match the leaf hash block " +
                    $"{slot.Block.Number:N0} recorded: a value, its context or another field was altered after it was stored")
                    { ChangeId = c.Id, Block = slot.Block.Number, CommitLsn = (ulong)c.CommitLsn, Ordinal = c.Ordinal, Table = $"{c.Schema}.{c.Table}", PrimaryKey = c.PrimaryKey },
                    c.CommitLsn, c.Ordinal);
            foreach (var c in inserted.Where(c => !explainedChanges.Contains(c.Id)))
                Add(new ChainBreak(source, ChainBreakKind.ChangeInserted,
                    $"change {c.Id} ({Describe(c)}, commit {Checkpoint.Lsn((ulong)c.CommitLsn)} ordinal {c.Ordinal}) is not in the chain: it was inserted after the fact")
                    { ChangeId = c.Id, CommitLsn = (ulong)c.CommitLsn, Ordinal = c.Ordinal, Table = $"{c.Schema}.{c.Table}", PrimaryKey = c.PrimaryKey },
                    c.CommitLsn, c.Ordinal);
            foreach (var (slot, at) in missing.Where(m => !explainedPlaces.Contains((m.Slot.Run.CommitLsn, m.Slot.Run.FirstOrdinal + m.Offset))))
            {
                var ordinal = slot.Run.FirstOrdinal + at;
                Add(new ChainBreak(source, ChainBreakKind.ChangeDeleted,
                    $"the change at commit {Checkpoint.Lsn((ulong)slot.Run.CommitLsn)} ordinal {ordinal} (block {slot.Block.Number:N0}, committed " +
                    $"{Checkpoint.Time(DateTimeOffset.UnixEpoch.AddTicks(slot.Run.CommittedAtMicros * 10))}) is missing, and no prune accounts for it: it was deleted")
                    { Block = slot.Block.Number, CommitLsn = (ulong)slot.Run.CommitLsn, Ordinal = ordinal },
                    slot.Run.CommitLsn, ordinal);
            }
        }
        if (overflow > 0)
            Add(new ChainBreak(source, ChainBreakKind.ValueChanged,
                $"{overflow:N0} more changes do not match the chain (not listed: more than {MaxSuspects:N0} of each kind)"), long.MaxValue - 1, 0);
        if (options.Since is null && beforeChain > priorChanges)
            Add(new ChainBreak(source, ChainBreakKind.ChangeInserted,
                $"{beforeChain:N0} changes are older than the chain's first block, but {priorChanges:N0} were stored before it began: " +
                $"{beforeChain - priorChanges:N0} were inserted after the fact"), chainStart, 0);
        if (pruned > prunedLogged)
            Add(new ChainBreak(source, ChainBreakKind.ChangeDeleted,
                $"{pruned:N0} chained changes older than the last prune horizon are missing, but the prune log accounts for {prunedLogged:N0}: " +
                $"{pruned - prunedLogged:N0} change(s) were deleted"), chainStart, 0);
        var unchained = await CountAsync(conn, "SELECT count(*) FROM hindsight.changes WHERE source = $1 AND ordinal < 0", source, ct).ConfigureAwait(false);
        var result = new SourceVerification(source, blocks.Count, blocks.Count == 0 ? 0 : blocks[^1].TotalChanges, verified, pruned, beforeChain, unchained,
            checkedCount, latest, keyChecked, Stopwatch.GetElapsedTime(started));
        return (result, breaks);
    }

    private static bool CheckSignature(string source, SignedCheckpoint c, VerifyingKey? given, Dictionary<string, VerifyingKey> keys,
        Action<ChainBreak, long, long> add)
    {
        var when = Checkpoint.Time(c.Checkpoint.MadeAt);
        string? problem = null;
        if (given is not null && c.KeyId != given.KeyId)
            problem = $"the checkpoint of {when} was signed by key {c.KeyId}, not by the key given ({given.KeyId})";
        else if ((given ?? keys.GetValueOrDefault(c.KeyId)) is not { } key)
            problem = $"the checkpoint of {when} was signed by key {c.KeyId}, which the store does not record: give its public key (--public-key)";
        else if (!key.Verifies(c))
            problem = $"the signature of the checkpoint of {when} ({c.Checkpoint.Blocks:N0} blocks) fails: the checkpoint was altered or forged";
        if (problem is null) return true;
        add(new ChainBreak(source, ChainBreakKind.CheckpointSignature, problem) { Block = c.Checkpoint.Blocks - 1 }, long.MaxValue, c.Checkpoint.Blocks);
        return false;
    }

    private static async Task<(long HorizonMicros, long Pruned)> PrunesAsync(NpgsqlConnection conn, string source, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand("SELECT max(horizon), coalesce(sum(pruned), 0)::bigint FROM hindsight.prunes WHERE source = $1", conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(source);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        await r.ReadAsync(ct).ConfigureAwait(false);
        return (r.IsDBNull(0) ? long.MinValue : StoredBlock.Micros(r.GetDateTime(0)), r.GetInt64(1));
    }

    private static async Task<long> CountAsync(NpgsqlConnection conn, string sql, string source, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(sql, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(source);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    // The current row of a query selecting ChangeLeaf.StoredColumns, as strings.
    private static StoredChange Read(NpgsqlDataReader r, string source) =>
        new(r.GetInt64(0), source, r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), r.GetString(5),
            r.GetString(6), r.GetString(7), r.GetString(8), StoredBlock.Micros(r.GetDateTime(9)), r.GetInt64(10), r.GetInt64(11), r.GetInt64(12),
            r.GetInt32(13));

    private static string Describe(StoredChange c) =>
        $"{c.Operation} of {c.Schema}.{c.Table}" + (c.PrimaryKey is null ? "" : $" key {c.PrimaryKey}");

    // A run of a block, where its leaves start in the block.
    private sealed record Slot(ChainRun Run, StoredBlock Block, int FirstLeaf)
    {
        public ReadOnlySpan<byte> Leaf(int offset) => Block.Leaves.AsSpan((FirstLeaf + offset) * MerkleTree.HashSize, MerkleTree.HashSize);
    }
}
