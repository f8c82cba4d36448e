using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Hindsight.Chain;

/// <summary>A run of a block: changes of one source transaction with consecutive ordinals.</summary>
internal readonly record struct ChainRun(long CommitLsn, int FirstOrdinal, int Count, long CommittedAtMicros);

/// <summary>
/// One block of a source's chain: the changes one store transaction wrote, as runs of consecutive ordinals with one
/// leaf hash per change, a Merkle root over the runs' roots, and the hash that chains it to the block before.
/// </summary>
internal sealed record ChainBlock(
    string Source, long Number, byte[] PreviousHash, byte[] Root, byte[] Hash, int Changes, long TotalChanges, long PriorChanges,
    IReadOnlyList<ChainRun> Runs, byte[] Leaves, long LastCommitLsn)
{
    /// <summary>The first byte of a block header's hash input.</summary>
    public const byte Domain = 0x02;

    /// <summary>The previous hash of block 0.</summary>
    public static readonly byte[] Genesis = new byte[MerkleTree.HashSize];

    /// <summary>The roots of the runs, end to end: each the tree hash of its changes' leaves in ordinal order.</summary>
    public static byte[] RunRoots(IReadOnlyList<ChainRun> runs, ReadOnlySpan<byte> leaves)
    {
        var roots = new byte[runs.Count * MerkleTree.HashSize];
        var at = 0;
        for (var i = 0; i < runs.Count; i++)
        {
            var n = runs[i].Count;
            MerkleTree.Root(leaves.Slice(at * MerkleTree.HashSize, n * MerkleTree.HashSize), n).CopyTo(roots, i * MerkleTree.HashSize);
            at += n;
        }
        return roots;
    }

    /// <summary>
    /// The block's hash: SHA-256 of 0x02, the source (length-prefixed UTF-8), the block number, the previous block's
    /// hash, the root over the runs, the number of changes in the block, the number stored before the chain began, and
    /// the digest of the runs' descriptions (<see cref="RunsDigest"/>).
    /// </summary>
    public static byte[] HashOf(string source, long number, ReadOnlySpan<byte> previousHash, ReadOnlySpan<byte> root, long changes, long priorChanges,
        IReadOnlyList<ChainRun> runs) => HashOf(source, number, previousHash, root, changes, priorChanges, RunsDigest(runs));

    /// <summary>The block's hash from the digest of its runs (what an inclusion proof carries instead of the runs).</summary>
    public static byte[] HashOf(string source, long number, ReadOnlySpan<byte> previousHash, ReadOnlySpan<byte> root, long changes, long priorChanges,
        ReadOnlySpan<byte> runsDigest)
    {
        var name = Encoding.UTF8.GetBytes(source);
        var input = new byte[1 + 4 + name.Length + 8 + 32 + 32 + 8 + 8 + 32];
        var s = input.AsSpan();
        s[0] = Domain;
        BinaryPrimitives.WriteUInt32BigEndian(s[1..], (uint)name.Length);
        name.CopyTo(s[5..]);
        var at = 5 + name.Length;
        BinaryPrimitives.WriteInt64BigEndian(s[at..], number);
        previousHash.CopyTo(s[(at + 8)..]);
        root.CopyTo(s[(at + 40)..]);
        BinaryPrimitives.WriteInt64BigEndian(s[(at + 72)..], changes);
        BinaryPrimitives.WriteInt64BigEndian(s[(at + 80)..], priorChanges);
        runsDigest.CopyTo(s[(at + 88)..]);
        return SHA256.HashData(input);
    }

    /// <summary>SHA-256 of each run's commit LSN, first ordinal, count and commit time (microseconds since 1970), each 8
    /// bytes big-endian, run after run: the block's description of where its changes are is covered by its hash too.</summary>
    public static byte[] RunsDigest(IReadOnlyList<ChainRun> runs)
    {
        var input = new byte[runs.Count * 32];
        for (var i = 0; i < runs.Count; i++)
        {
            var s = input.AsSpan(i * 32);
            BinaryPrimitives.WriteInt64BigEndian(s, runs[i].CommitLsn);
            BinaryPrimitives.WriteInt64BigEndian(s[8..], runs[i].FirstOrdinal);
            BinaryPrimitives.WriteInt64BigEndian(s[16..], runs[i].Count);
            BinaryPrimitives.WriteInt64BigEndian(s[24..], runs[i].CommittedAtMicros);
        }
        return SHA256.HashData(input);
    }
}
