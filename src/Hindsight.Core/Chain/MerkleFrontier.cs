namespace Hindsight.Chain;

/// <summary>
/// The right edge of an RFC 6962 tree that grows one leaf at a time: the roots of its perfect subtrees, largest first
/// (one per set bit of the leaf count). Enough to append a leaf and to compute the root, in O(log n) space, so a writer
/// never reads the tree back.
/// </summary>
internal sealed class MerkleFrontier
{
    /// <summary>The subtree sizes (as powers of two) whose roots are kept for proofs: every 256th and 65,536th node.</summary>
    public static readonly int[] StoredLevels = [8, 16];

    private readonly List<byte[]> _roots = [];

    /// <summary>Leaves appended so far.</summary>
    public long Count { get; private set; }

    /// <summary>An empty tree.</summary>
    public MerkleFrontier() { }

    /// <summary>Reads a frontier written by <see cref="ToBytes"/> for a tree of <paramref name="count"/> leaves.</summary>
    public MerkleFrontier(long count, ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != long.PopCount(count) * MerkleTree.HashSize)
            throw new FormatException($"a frontier of {count} leaves has {long.PopCount(count)} hashes, not {bytes.Length / (double)MerkleTree.HashSize}");
        Count = count;
        for (var i = 0; i < bytes.Length; i += MerkleTree.HashSize) _roots.Add(bytes.Slice(i, MerkleTree.HashSize).ToArray());
    }

    /// <summary>The subtree roots, largest first, end to end.</summary>
    public byte[] ToBytes() => _roots.SelectMany(r => r).ToArray();

    /// <summary>A copy, to extend without changing this one until a store commit succeeds.</summary>
    public MerkleFrontier Clone() => new(Count, ToBytes());

    /// <summary>Appends a leaf value; reports each perfect subtree completed at a <see cref="StoredLevels"/> level.</summary>
    public void Append(ReadOnlySpan<byte> leaf, List<(int Level, long Index, byte[] Hash)>? completed = null)
    {
        var node = leaf.ToArray();
        var level = 0;
        var index = Count;
        // Each trailing set bit of the old count is a subtree of the same size as the one being carried: merge them.
        while (((Count >> level) & 1) == 1)
        {
            var left = _roots[^1];
            _roots.RemoveAt(_roots.Count - 1);
            node = MerkleTree.Node(left, node);
            level++;
            index >>= 1;
            if (completed is not null && Array.IndexOf(StoredLevels, level) >= 0) completed.Add((level, index, node));
        }
        _roots.Add(node);
        Count++;
    }

    /// <summary>The tree's root (RFC 6962's MTH of every leaf appended).</summary>
    public byte[] Root()
    {
        if (_roots.Count == 0) return (byte[])MerkleTree.EmptyRoot.Clone();
        var r = _roots[^1];
        for (var i = _roots.Count - 2; i >= 0; i--) r = MerkleTree.Node(_roots[i], r);
        return r;
    }
}
