using System.Buffers;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Chain;

/// <summary>
/// Builds a source's chain as its changes are written: the leaf of each change as it is encoded, and at each store
/// commit its blocks (one per <see cref="MaxBlockChanges"/> changes, a large transaction's run split across them),
/// inserted in the same store transaction as the changes and the progress row. A resend after a crash
/// is skipped before it reaches the writer, and a store transaction that fails leaves no block: the chain neither
/// breaks nor forks. The block number is part of the primary key, so a second writer of one source is refused.
/// A writer whose store transaction failed is not used again: the next session opens a new one from the store.
/// </summary>
internal sealed class ChainWriter
{
    private readonly string _source;
    private readonly ChangeLeaf _leaf = new();
    private readonly ArrayBufferWriter<byte> _leaves = new(MerkleTree.HashSize * 256);
    private readonly List<ChainRun> _runs = [];
    private readonly List<SealedBlock> _sealed = [];
    private long _lastCommitLsn;

    /// <summary>Most changes in one block. Small blocks keep an inclusion proof cheap (it reads and hashes the change's
    /// block), and cost one more row per 1,024 changes.</summary>
    public const int MaxBlockChanges = 1024;

    // The chain's head after the blocks sealed so far: the next block's number, the last block's hash, the tree of block hashes.
    private long _nextBlock;
    private byte[] _head = ChainBlock.Genesis;
    private long _totalChanges;
    private long _priorChanges;
    private MerkleFrontier _tree = new();

    private ChainWriter(string source) => _source = source;

    // The first key of the advisory locks that serialise the writers of one source's chain ("hsch").
    private const int AdvisoryLockClass = 0x68736368;

    /// <summary>True when changes were added since the last store commit.</summary>
    public bool HasPending => _runs.Count > 0 || _sealed.Count > 0;

    /// <summary>Reads the source's chain head; null when the store keeps no chain (<c>settings.chain</c> is <c>off</c>).</summary>
    /// <remarks>With <paramref name="tx"/> (writers that may run side by side, the ingesters), the source's chain is locked until
    /// that transaction ends, so that each of them appends to the head the one before committed: the chain never forks.
    /// An advisory lock, not a row lock: the store's writer role may not lock rows it may not update.</remarks>
    public static async Task<ChainWriter?> OpenAsync(NpgsqlConnection store, string source, CancellationToken ct, NpgsqlTransaction? tx = null)
    {
        if (tx is not null)
        {
            var lockHead = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({AdvisoryLockClass}, hashtext($1))", store, tx);
            await using (lockHead.ConfigureAwait(false))
            {
                lockHead.Parameters.AddWithValue(source);
                await lockHead.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }
        var cmd = new NpgsqlCommand(
            """
            SELECT coalesce((SELECT value FROM hindsight.settings WHERE name = 'chain'), 'on'),
                   b.block, b.hash, b.total_changes, b.prior_changes, b.frontier,
                   (SELECT count(*) FROM hindsight.changes c WHERE c.source = $1 AND c.ordinal > 0)
              FROM (SELECT 1) one
              LEFT JOIN LATERAL (SELECT * FROM hindsight.chain_blocks WHERE source = $1 ORDER BY block DESC LIMIT 1) b ON true
            """, store, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(source);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        await r.ReadAsync(ct).ConfigureAwait(false);
        if (r.GetString(0) != "on") return null;
        var writer = new ChainWriter(source);
        if (r.IsDBNull(1)) writer._priorChanges = r.GetInt64(6); // no block yet: what is stored now came before the chain
        else
        {
            writer._nextBlock = r.GetInt64(1) + 1;
            writer._head = r.GetFieldValue<byte[]>(2);
            writer._totalChanges = r.GetInt64(3);
            writer._priorChanges = r.GetInt64(4);
            writer._tree = new MerkleFrontier(writer._nextBlock, r.GetFieldValue<byte[]>(5));
        }
        return writer;
    }

    /// <summary>Adds the change encoded as <paramref name="tuple"/> (a <see cref="Sink.ChangeRowEncoder"/> tuple).</summary>
    public void Add(ReadOnlySpan<byte> tuple)
    {
        var leaf = _leaves.GetSpan(MerkleTree.HashSize)[..MerkleTree.HashSize];
        var (commitLsn, ordinal, committedAt) = _leaf.FromTuple(tuple, leaf);
        _leaves.Advance(MerkleTree.HashSize);
        if (_runs.Count > 0 && _runs[^1] is var last && last.CommitLsn == commitLsn && last.FirstOrdinal + last.Count == ordinal)
            _runs[^1] = last with { Count = last.Count + 1 };
        else _runs.Add(new ChainRun(commitLsn, ordinal, 1, committedAt));
        if (commitLsn > _lastCommitLsn) _lastCommitLsn = commitLsn;
        if (_leaves.WrittenCount == MaxBlockChanges * MerkleTree.HashSize) _sealed.Add(SealOne());
    }

    /// <summary>The blocks of the changes added since the last store commit, in order, to insert with them.</summary>
    public IReadOnlyList<SealedBlock> Seal()
    {
        if (_runs.Count > 0) _sealed.Add(SealOne());
        return _sealed.ToList();
    }

    private SealedBlock SealOne()
    {
        var leaves = _leaves.WrittenSpan.ToArray();
        var runs = _runs.ToArray();
        var root = MerkleTree.Root(ChainBlock.RunRoots(runs, leaves), runs.Length);
        var changes = leaves.Length / MerkleTree.HashSize;
        var hash = ChainBlock.HashOf(_source, _nextBlock, _head, root, changes, _priorChanges, runs);
        var tree = _tree.Clone();
        var nodes = new List<(int Level, long Index, byte[] Hash)>();
        tree.Append(hash, nodes);
        var block = new ChainBlock(_source, _nextBlock, _head, root, hash, changes, _totalChanges + changes, _priorChanges, runs, leaves, _lastCommitLsn);
        _nextBlock++;
        _head = hash;
        _totalChanges += changes;
        _tree = tree;
        _leaves.ResetWrittenCount();
        _runs.Clear();
        return new SealedBlock(block, tree, nodes);
    }

    /// <summary>Forgets the sealed blocks once the store transaction that inserted them has committed.</summary>
    public void Committed() => _sealed.Clear();

    /// <summary>The statement that inserts a sealed block and the tree nodes it completes (parameters by <see cref="Fill"/>).</summary>
    public static NpgsqlBatchCommand CreateInsert()
    {
        var cmd = new NpgsqlBatchCommand(InsertSql);
        foreach (var type in InsertTypes) cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = type, Value = DBNull.Value });
        return cmd;
    }

    /// <summary>The same statement, for a store transaction that is already open.</summary>
    public static NpgsqlCommand CreateInsert(NpgsqlConnection conn)
    {
        var cmd = new NpgsqlCommand(InsertSql, conn);
        foreach (var type in InsertTypes) cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = type, Value = DBNull.Value });
        return cmd;
    }

    /// <summary>Sets the insert's parameters to a sealed block.</summary>
    public static void Fill(NpgsqlParameterCollection p, SealedBlock sealedBlock)
    {
        var b = sealedBlock.Block;
        p[0].Value = b.Source;
        p[1].Value = b.Number;
        p[2].Value = b.PreviousHash;
        p[3].Value = b.Hash;
        p[4].Value = b.Root;
        p[5].Value = b.Changes;
        p[6].Value = b.TotalChanges;
        p[7].Value = b.PriorChanges;
        p[8].Value = b.Runs.Select(r => r.CommitLsn).ToArray();
        p[9].Value = b.Runs.Select(r => r.FirstOrdinal).ToArray();
        p[10].Value = b.Runs.Select(r => r.Count).ToArray();
        p[17].Value = b.Runs.Select(r => DateTime.UnixEpoch.AddTicks(r.CommittedAtMicros * 10)).ToArray();
        p[11].Value = b.Leaves;
        p[12].Value = sealedBlock.Tree.ToBytes();
        p[13].Value = b.LastCommitLsn;
        p[14].Value = sealedBlock.Nodes.Select(n => (short)n.Level).ToArray();
        p[15].Value = sealedBlock.Nodes.Select(n => n.Index).ToArray();
        p[16].Value = sealedBlock.Nodes.Select(n => n.Hash).ToArray();
    }

    private const string InsertSql =
        """
        WITH block AS (
            INSERT INTO hindsight.chain_blocks (source, block, prev_hash, hash, root, changes, total_changes, prior_changes,
                                                run_commit_lsns, run_first_ordinals, run_counts, run_committed_ats, leaves, frontier, last_commit_lsn)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $18, $12, $13, $14))
        INSERT INTO hindsight.chain_nodes (source, level, index, hash)
        SELECT $1, n.level, n.index, n.hash FROM unnest($15::smallint[], $16::bigint[], $17::bytea[]) AS n(level, index, hash)
        """;

    private static readonly NpgsqlDbType[] InsertTypes =
    [
        NpgsqlDbType.Text, NpgsqlDbType.Bigint, NpgsqlDbType.Bytea, NpgsqlDbType.Bytea, NpgsqlDbType.Bytea, NpgsqlDbType.Integer,
        NpgsqlDbType.Bigint, NpgsqlDbType.Bigint, NpgsqlDbType.Array | NpgsqlDbType.Bigint, NpgsqlDbType.Array | NpgsqlDbType.Integer,
        NpgsqlDbType.Array | NpgsqlDbType.Integer, NpgsqlDbType.Bytea, NpgsqlDbType.Bytea, NpgsqlDbType.Bigint,
        NpgsqlDbType.Array | NpgsqlDbType.Smallint, NpgsqlDbType.Array | NpgsqlDbType.Bigint, NpgsqlDbType.Array | NpgsqlDbType.Bytea,
        NpgsqlDbType.Array | NpgsqlDbType.TimestampTz,
    ];
}

/// <summary>A block ready to insert, the tree of block hashes with it, and the stored tree nodes it completes.</summary>
internal sealed record SealedBlock(ChainBlock Block, MerkleFrontier Tree, List<(int Level, long Index, byte[] Hash)> Nodes);
