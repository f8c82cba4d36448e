using System.Security.Cryptography;

namespace Hindsight.Chain;

/// <summary>
/// The Merkle tree hash of RFC 6962 (Certificate Transparency) over 32-byte leaf values, with its audit paths, and
/// the right edge ("frontier") that lets a writer extend a tree one leaf at a time in O(log n) memory.
/// </summary>
/// <remarks>
/// RFC 6962's shape is used because it is specified for any number of leaves (not only powers of two), its proofs are
/// well known, and verifiers exist in many languages. Interior nodes are SHA-256(0x01 ‖ left ‖ right); what a leaf
/// value is depends on the tree (a change's leaf hash, a run's root, a block's hash), each domain-separated by its own
/// first byte (docs/verification.md, "The canonical encoding").
/// </remarks>
internal static class MerkleTree
{
    /// <summary>Bytes in a hash.</summary>
    public const int HashSize = 32;

    /// <summary>The root of an empty tree: SHA-256 of nothing.</summary>
    public static readonly byte[] EmptyRoot = SHA256.HashData(ReadOnlySpan<byte>.Empty);

    /// <summary>SHA-256(0x01 ‖ left ‖ right).</summary>
    public static byte[] Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        var output = new byte[HashSize];
        Node(left, right, output);
        return output;
    }

    /// <summary>SHA-256(0x01 ‖ left ‖ right) into <paramref name="output"/> (which may alias either input).</summary>
    public static void Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> output)
    {
        Span<byte> input = stackalloc byte[1 + 2 * HashSize];
        input[0] = 1;
        left.CopyTo(input[1..]);
        right.CopyTo(input[(1 + HashSize)..]);
        SHA256.HashData(input, output);
    }

    /// <summary>The tree hash of <paramref name="count"/> leaf values laid end to end in <paramref name="leaves"/>.</summary>
    public static byte[] Root(ReadOnlySpan<byte> leaves, int count)
    {
        if (count == 0) return (byte[])EmptyRoot.Clone();
        // Pairs are combined level by level, an odd last node carried up as it is: for any count this is the same
        // hash as RFC 6962's recursive definition (split at the largest power of two below the count).
        var level = leaves[..(count * HashSize)].ToArray();
        var n = count;
        while (n > 1)
        {
            var next = 0;
            for (var i = 0; i + 1 < n; i += 2, next++)
                Node(level.AsSpan(i * HashSize, HashSize), level.AsSpan((i + 1) * HashSize, HashSize), level.AsSpan(next * HashSize, HashSize));
            if (n % 2 == 1)
            {
                level.AsSpan((n - 1) * HashSize, HashSize).CopyTo(level.AsSpan(next * HashSize, HashSize));
                next++;
            }
            n = next;
        }
        return level[..HashSize];
    }

    /// <summary>
    /// The audit path of leaf <paramref name="index"/> in the tree of <paramref name="count"/> leaves: the sibling
    /// hashes from the leaf up, as RFC 6962 section 2.1.1 defines PATH. <paramref name="subtree"/> gives the hash of
    /// the leaves [start, start + size), size a power of two (or the right part of the tree, any size).
    /// </summary>
    public static List<byte[]> Path(long index, long count, Func<long, long, byte[]> subtree)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, count);
        var path = new List<byte[]>();
        PathOf(index, 0, count, subtree, path);
        return path;
    }

    private static void PathOf(long index, long start, long count, Func<long, long, byte[]> subtree, List<byte[]> path)
    {
        if (count <= 1) return;
        var k = LargestPowerOfTwoBelow(count);
        if (index < k)
        {
            PathOf(index, start, k, subtree, path);
            path.Add(subtree(start + k, count - k));
        }
        else
        {
            PathOf(index - k, start + k, count - k, subtree, path);
            path.Add(subtree(start, k));
        }
    }

    /// <summary>Recomputes the root from a leaf value and its audit path (RFC 9162, section 2.1.3.2).</summary>
    public static byte[] RootFromPath(ReadOnlySpan<byte> leaf, long index, long count, IReadOnlyList<byte[]> path)
    {
        if (index < 0 || index >= count) throw new ArgumentOutOfRangeException(nameof(index));
        long fn = index, sn = count - 1;
        var r = leaf.ToArray();
        foreach (var p in path)
        {
            if (sn == 0) throw new FormatException("the proof has more hashes than the tree has levels");
            if ((fn & 1) == 1 || fn == sn)
            {
                r = Node(p, r);
                if ((fn & 1) == 0)
                    while ((fn & 1) == 0 && fn != 0) { fn >>= 1; sn >>= 1; }
            }
            else r = Node(r, p);
            fn >>= 1;
            sn >>= 1;
        }
        if (sn != 0) throw new FormatException("the proof has fewer hashes than the tree has levels");
        return r;
    }

    /// <summary>The largest power of two strictly below <paramref name="n"/> (n ≥ 2).</summary>
    public static long LargestPowerOfTwoBelow(long n) => 1L << (63 - (int)long.LeadingZeroCount(n - 1));
}
