using System.Buffers;
using System.ComponentModel;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Hindsight.Chain;
using Hindsight.Model;
using Hindsight.Sink;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Chain;

/// <summary>
/// The chain's building blocks without a server: the RFC 6962 tree, its audit paths and frontier, the frozen leaf and
/// block encodings, and signed checkpoints. Every expectation is built here independently (a naive recursive tree, byte
/// layouts written out by hand, OpenSSL), never taken from the code under test.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ChainPrimitivesTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("hindsight-chain-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    // ---------------------------------------------------------------- Merkle tree

    [Fact]
    public void Root_equals_the_recursive_RFC_6962_tree_hash_for_0_to_300_leaves()
    {
        var naive = NaiveTree.Of(Leaf);
        // The empty tree's root is SHA-256 of nothing, a well-known constant.
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Hex(MerkleTree.Root([], 0)));
        var leaves = Concat(Enumerable.Range(0, 300).Select(i => Leaf(i)));
        for (var n = 0; n <= 300; n++)
            Assert.True(Hex(naive.Mth(0, n)) == Hex(MerkleTree.Root(leaves, n)), $"root of {n} leaves");
    }

    [Fact]
    public void Path_is_RFC_6962_PATH_and_leads_from_each_leaf_to_the_root_for_1_to_200_leaves()
    {
        var naive = NaiveTree.Of(Leaf);
        for (var n = 1; n <= 200; n++)
        {
            var root = naive.Mth(0, n);
            for (var index = 0; index < n; index++)
            {
                var path = MerkleTree.Path(index, n, naive.Mth);
                Assert.True(naive.Path(index, 0, n).SequenceEqual(path, ByteArrays), $"path of leaf {index} of {n}");
                Assert.True(root.AsSpan().SequenceEqual(MerkleTree.RootFromPath(Leaf(index), index, n, path)), $"leaf {index} of {n}");
            }
        }
    }

    [Fact]
    public void An_altered_path_or_index_does_not_lead_to_the_root()
    {
        var naive = NaiveTree.Of(Leaf);
        var extra = SHA256.HashData("not in the tree"u8);
        for (var n = 1; n <= 200; n++)
        {
            var root = naive.Mth(0, n);
            for (var index = 0; index < n; index++)
            {
                var path = MerkleTree.Path(index, n, naive.Mth);
                var leaf = Leaf(index);
                // One hash of the path changed, a different one from leaf to leaf, so every level is tried in every
                // tree (a copy: the naive tree's hashes are shared).
                if (path.Count > 0)
                {
                    var i = index % path.Count;
                    var altered = path.ToList();
                    altered[i] = (byte[])altered[i].Clone();
                    altered[i][(n + index) % MerkleTree.HashSize] ^= (byte)(1 << (index % 8));
                    AssertNotRoot(root, () => MerkleTree.RootFromPath(leaf, index, n, altered), $"hash {i} of the path of leaf {index} of {n} flipped");
                }
                // The right path for another place in the tree.
                if (n > 1)
                {
                    var other = (index + 1) % n;
                    AssertNotRoot(root, () => MerkleTree.RootFromPath(leaf, other, n, path), $"leaf {index} of {n} claimed at {other}");
                }
                // A hash missing, a hash too many.
                if (path.Count > 0)
                    AssertNotRoot(root, () => MerkleTree.RootFromPath(leaf, index, n, path[..^1]), $"path of leaf {index} of {n} one short");
                AssertNotRoot(root, () => MerkleTree.RootFromPath(leaf, index, n, [.. path, extra]), $"path of leaf {index} of {n} one long");
            }
        }
    }

    // ---------------------------------------------------------------- Frontier

    [Fact]
    public void Frontier_root_equals_the_tree_hash_at_every_size_from_1_to_600()
    {
        var naive = NaiveTree.Of(Leaf);
        var frontier = new MerkleFrontier();
        Assert.Equal(Hex(naive.Mth(0, 0)), Hex(frontier.Root()));
        for (var n = 1; n <= 600; n++)
        {
            frontier.Append(Leaf(n - 1));
            Assert.Equal(n, frontier.Count);
            Assert.True(Hex(naive.Mth(0, n)) == Hex(frontier.Root()), $"root after {n} appends");
        }
    }

    [Fact]
    public void Frontier_bytes_round_trip_and_the_restored_frontier_extends_the_same_tree()
    {
        var naive = NaiveTree.Of(Leaf);
        var frontier = new MerkleFrontier();
        int[] continueFrom = [0, 1, 2, 3, 255, 256, 257, 300, 511, 512, 599];
        for (var n = 0; n <= 600; n++)
        {
            var bytes = frontier.ToBytes();
            // One perfect subtree per set bit of the count, each a hash.
            Assert.Equal(long.PopCount(n) * MerkleTree.HashSize, bytes.Length);
            var restored = new MerkleFrontier(n, bytes);
            Assert.Equal(n, restored.Count);
            Assert.Equal(Hex(bytes), Hex(restored.ToBytes()));
            Assert.Equal(Hex(naive.Mth(0, n)), Hex(restored.Root()));
            // What a writer does after reading the frontier back from the store: keep appending.
            if (continueFrom.Contains(n))
            {
                for (var i = n; i < 600; i++) restored.Append(Leaf(i));
                Assert.True(Hex(naive.Mth(0, 600)) == Hex(restored.Root()), $"600 leaves, restored at {n}");
            }
            if (n < 600) frontier.Append(Leaf(n));
        }
        // A frontier whose byte count does not match its leaf count is refused.
        Assert.Throws<FormatException>(() => new MerkleFrontier(3, new byte[MerkleTree.HashSize]));
        Assert.Throws<FormatException>(() => new MerkleFrontier(4, new byte[2 * MerkleTree.HashSize]));
    }

    [Fact]
    public void Frontier_reports_each_completed_256_and_65536_leaf_subtree_with_its_tree_hash()
    {
        // Cheap leaves (no hashing) so that 65,536 of them, and the naive tree over them, stay well under a second.
        static byte[] Cheap(long i)
        {
            var leaf = new byte[MerkleTree.HashSize];
            for (var b = 0; b < 8; b++) leaf[b] = (byte)(i >> (56 - 8 * b));
            leaf[31] = 0xC5;
            return leaf;
        }
        var naive = NaiveTree.Of(Cheap);
        var frontier = new MerkleFrontier();
        var completed = new List<(int Level, long Index, byte[] Hash)>();
        for (var i = 0; i < 65_536; i++)
        {
            var before = completed.Count;
            frontier.Append(Cheap(i), completed);
            // A subtree is reported by the append of its last leaf, and only then.
            var expected = ((i + 1) % 256 == 0 ? 1 : 0) + ((i + 1) % 65_536 == 0 ? 1 : 0);
            if (completed.Count - before != expected) Assert.Fail($"leaf {i}: {completed.Count - before} subtrees reported, not {expected}");
        }

        // Exactly the aligned ranges: 256 of 256 leaves, in order, then the one of 65,536 leaves.
        var level8 = completed.Where(c => c.Level == 8).ToList();
        var level16 = Assert.Single(completed, c => c.Level == 16);
        Assert.Equal(257, completed.Count);
        Assert.Equal(Enumerable.Range(0, 256).Select(i => (long)i), level8.Select(c => c.Index));
        foreach (var (_, index, hash) in level8)
            Assert.True(Hex(naive.Mth(index * 256, 256)) == Hex(hash), $"level-8 node {index}");
        Assert.Equal(0, level16.Index);
        Assert.Equal(Hex(naive.Mth(0, 65_536)), Hex(level16.Hash));
        Assert.Equal(Hex(naive.Mth(0, 65_536)), Hex(frontier.Root()));
    }

    // ---------------------------------------------------------------- Change leaf

    /// <summary>A change with a null key and non-ASCII text everywhere text can be.</summary>
    private static readonly StoredChange Keyless = new(
        Id: 11, Source: "ventes-é", Database: "boutique", Schema: "public", Table: "commandes_日本", PrimaryKey: null, Operation: "CREATE",
        Before: "{}", After: """{"id": 7, "note": "Renée ☃ 😀"}""", Context: """{"user": "zoë"}""",
        CommittedAtMicros: Micros(new DateTimeOffset(2026, 3, 1, 12, 34, 56, TimeSpan.Zero).AddTicks(7_890_120)),
        TransactionId: 987_654, Position: 0x16_B374_D848, CommitLsn: 0x16_B374_D900, Ordinal: 3);

    /// <summary>A change with a composite key, an xid past 2^32, and a commit time before 1970 (a negative count).</summary>
    private static readonly StoredChange Composite = new(
        Id: 12, Source: "ventes-é", Database: "boutique", Schema: "public", Table: "lines", PrimaryKey: "[7,12]", Operation: "DELETE",
        Before: """{"line": 12, "order_id": 7}""", After: "{}", Context: "{}",
        CommittedAtMicros: Micros(new DateTimeOffset(1969, 7, 20, 20, 17, 40, TimeSpan.Zero).AddTicks(10)),
        TransactionId: 5_000_000_000, Position: 0x1_0000_0010, CommitLsn: 0x1_0000_0020, Ordinal: 70_000);

    [Fact]
    public void Change_leaf_is_SHA256_of_the_documented_encoding()
    {
        foreach (var change in new[] { Keyless, Composite })
        {
            var expected = SHA256.HashData(LeafInput(change));
            Assert.Equal(Hex(expected), Hex(FromStored(change)));
        }
    }

    [Fact]
    public void Change_leaf_encoding_is_frozen()
    {
        // The encoding is frozen (docs/verification.md, "The canonical encoding"): verifiers in other languages compute
        // these bytes from the store's columns, and stored chains were hashed with it. If this fails, the encoding
        // changed: that breaks every existing chain and every third-party verifier. Do not update the vectors. (They
        // were also computed apart from .NET, by a few lines of Python's hashlib and struct over the same layout.)
        const string keyless = "fce0fcff32f19f9a132131b1204042094fa6e4424971c1495a6693ee544ef6ba";
        const string composite = "d7bbc45439d175c4fbbf6811191b50089f0b45848f24b12a70d96d2b593fd64f";
        Assert.Equal(keyless, Hex(SHA256.HashData(LeafInput(Keyless))));
        Assert.Equal(keyless, Hex(FromStored(Keyless)));
        Assert.Equal(composite, Hex(SHA256.HashData(LeafInput(Composite))));
        Assert.Equal(composite, Hex(FromStored(Composite)));
    }

    [Fact]
    public void Writer_leaf_from_an_encoded_tuple_equals_verifier_leaf_from_the_stored_text()
    {
        var committedAt = new DateTime(2026, 3, 1, 12, 34, 56, DateTimeKind.Utc).AddTicks(7_890_120);
        var cases = new (ChangeRecord Record, StoredChange Stored)[]
        {
            (new ChangeRecord
            {
                Schema = "public", Table = "lines", PrimaryKey = "[7,12]", Operation = Operation.Update,
                // As capture may render it: keys in table order, escapes, exponents, a duplicate key (the last wins).
                Before = Utf8("""{"qty":2,"sku":"caf\u00e9\/1","order_id":7,"line":12,"price":1.50e1,"meta":{"z":null,"aa":[1e2,-0,2.5E-3]}}"""),
                After = Utf8("""{"sku":"caf\u00e9\/1","qty":3,"line":12,"order_id":7,"price":15,"meta":{"aa":[],"z":"x\ty"}}"""),
                Context = Utf8("""{"user":"support","user":"zo\u00eb","ticket":1.0E1, "request" : "r-1"}"""),
                Position = 0x16_B374_D848, QueuedAt = new DateTime(2026, 3, 1, 12, 35, 0, DateTimeKind.Utc),
            },
            // What PostgreSQL prints for those as jsonb: keys by byte length then bytes, ", " and ": ", escapes only
            // where escape_json needs them, numbers as numeric_out writes them.
            new StoredChange(0, "ventes-é", "boutique", "public", "lines", "[7,12]", "UPDATE",
                """{"qty": 2, "sku": "café/1", "line": 12, "meta": {"z": null, "aa": [100, 0, 0.0025]}, "price": 15.0, "order_id": 7}""",
                """{"qty": 3, "sku": "café/1", "line": 12, "meta": {"z": "x\ty", "aa": []}, "price": 15, "order_id": 7}""",
                """{"user": "zoë", "ticket": 10, "request": "r-1"}""",
                Micros(committedAt), 5_000_000_000, 0x16_B374_D848, 0x16_B374_D900, 4)),
            (new ChangeRecord
            {
                Schema = "public", Table = "notes_日本", PrimaryKey = null, Operation = Operation.Create,
                Before = Utf8("  {\n}  "),
                After = Utf8("""{"é":1,"b":true,"a":"\ud83d\ude00"}"""),
                Context = Utf8("{}"),
                Position = 0x16_B374_D850, QueuedAt = new DateTime(2026, 3, 1, 12, 35, 0, DateTimeKind.Utc),
            },
            new StoredChange(0, "ventes-é", "boutique", "public", "notes_日本", null, "CREATE",
                "{}", """{"a": "😀", "b": true, "é": 1}""", "{}",
                Micros(committedAt), 5_000_000_000, 0x16_B374_D850, 0x16_B374_D900, 5)),
        };
        var hasher = new ChangeLeaf();
        foreach (var (record, stored) in cases)
        {
            var tuple = new ArrayBufferWriter<byte>();
            ChangeRowEncoder.Write(tuple, record, Utf8(stored.Source), Utf8(stored.Database), stored.TransactionId, (ulong)stored.CommitLsn,
                committedAt, stored.Ordinal);
            var fromTuple = new byte[MerkleTree.HashSize];
            var (commitLsn, ordinal, committedAtMicros) = hasher.FromTuple(tuple.WrittenSpan, fromTuple);
            Assert.Equal(Hex(FromStored(stored)), Hex(fromTuple));
            // The place and time the writer learns from the tuple, for its runs.
            Assert.Equal(stored.CommitLsn, commitLsn);
            Assert.Equal(stored.Ordinal, ordinal);
            Assert.Equal(stored.CommittedAtMicros, committedAtMicros);
        }
    }

    // ---------------------------------------------------------------- Block

    [Fact]
    public void Block_hash_is_SHA256_of_the_documented_header()
    {
        var previous = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var root = Enumerable.Range(0, 32).Select(i => (byte)(0xA0 + i)).ToArray();
        ChainRun[] runs =
        [
            new(0x16_B374_D900, 1, 3, Micros(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero).AddTicks(10))),
            new(0x16_B374_DA00, 4, 2, Micros(new DateTimeOffset(2026, 3, 1, 12, 0, 1, TimeSpan.Zero))),
        ];
        var digestInput = new List<byte>();
        foreach (var run in runs)
        {
            BigEndian(digestInput, run.CommitLsn, 8);
            BigEndian(digestInput, run.FirstOrdinal, 8);
            BigEndian(digestInput, run.Count, 8);
            BigEndian(digestInput, run.CommittedAtMicros, 8);
        }
        var digest = SHA256.HashData([.. digestInput]);
        var header = new List<byte> { 0x02 };
        LengthPrefixed(header, "ventes-é");
        BigEndian(header, 41, 8);        // block number
        header.AddRange(previous);
        header.AddRange(root);
        BigEndian(header, 5, 8);         // changes in the block
        BigEndian(header, 1_000, 8);     // changes stored before the chain began
        header.AddRange(digest);
        var expected = Hex(SHA256.HashData([.. header]));

        Assert.Equal(Hex(digest), Hex(ChainBlock.RunsDigest(runs)));
        Assert.Equal(expected, Hex(ChainBlock.HashOf("ventes-é", 41, previous, root, 5, 1_000, runs)));
        Assert.Equal(expected, Hex(ChainBlock.HashOf("ventes-é", 41, previous, root, 5, 1_000, digest)));
    }

    // ---------------------------------------------------------------- Keys and checkpoints

    private static readonly Checkpoint Sample = new(
        "ventes-é", 3, 1234, 0x16_B374_D848,
        Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(),
        Enumerable.Range(0, 32).Select(i => (byte)(0xE0 + i)).ToArray(),
        // 11:30 UTC given at +01:00: the signed text is in UTC.
        new DateTimeOffset(2026, 12, 5, 12, 30, 0, TimeSpan.FromHours(1)).AddTicks(1_234_560));

    [Fact]
    public void Signing_key_is_created_owner_only_and_loads_back_as_the_same_key()
    {
        var path = Path.Combine(_temp, "keys", "signing.pem");
        using var created = SigningKey.Create(path);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(path), StringComparison.Ordinal);

        using var loaded = SigningKey.Load(path);
        Assert.Equal(created.PublicKey.Pem, loaded.PublicKey.Pem);
        Assert.Equal(created.KeyId, loaded.KeyId);
        // The key id is the first 8 bytes of SHA-256 of the raw public key: the last 32 bytes of the Ed25519
        // SubjectPublicKeyInfo, whose 12-byte DER prefix is fixed (RFC 8410).
        var spki = PemBody(created.PublicKey.Pem);
        Assert.Equal("302a300506032b6570032100", Hex(spki[..12]));
        Assert.Equal(44, spki.Length);
        Assert.Equal(Hex(SHA256.HashData(spki[12..])[..8]), created.KeyId);
        // What one signs, the other verifies.
        Assert.True(created.PublicKey.Verifies(loaded.Sign(Sample)));
        Assert.True(loaded.PublicKey.Verifies(created.Sign(Sample)));
    }

    [Fact]
    public void Signed_checkpoint_round_trips_through_its_file_and_still_verifies()
    {
        using var key = SigningKey.Create(Path.Combine(_temp, "signing.pem"));
        var signed = key.Sign(Sample);
        Assert.Equal(key.KeyId, signed.KeyId);
        Assert.Equal(64, signed.Signature.Length);
        Assert.True(key.PublicKey.Verifies(signed));

        var parsed = SignedCheckpoint.Parse(signed.ToJson());
        var (c, p) = (Sample, parsed.Checkpoint);
        Assert.Equal((c.Source, c.Blocks, c.Changes, c.Position, Hex(c.Root), Hex(c.Head), c.MadeAt.UtcTicks),
            (p.Source, p.Blocks, p.Changes, p.Position, Hex(p.Root), Hex(p.Head), p.MadeAt.UtcTicks));
        Assert.Equal(signed.KeyId, parsed.KeyId);
        Assert.Equal(Hex(signed.Signature), Hex(parsed.Signature));
        Assert.Equal(Hex(c.SignedBytes()), Hex(p.SignedBytes()));
        Assert.True(key.PublicKey.Verifies(parsed));
    }

    [Fact]
    public void Any_altered_field_or_signature_byte_fails_verification()
    {
        using var key = SigningKey.Create(Path.Combine(_temp, "signing.pem"));
        var parsed = SignedCheckpoint.Parse(key.Sign(Sample).ToJson());
        var c = parsed.Checkpoint;
        var flippedRoot = (byte[])c.Root.Clone();
        flippedRoot[31] ^= 0x80;
        var flippedHead = (byte[])c.Head.Clone();
        flippedHead[0] ^= 0x01;
        var altered = new (string What, Checkpoint Checkpoint)[]
        {
            ("changes", c with { Changes = c.Changes + 1 }),
            ("blocks", c with { Blocks = c.Blocks - 1 }),
            ("position", c with { Position = c.Position + 1 }),
            ("root", c with { Root = flippedRoot }),
            ("head", c with { Head = flippedHead }),
            ("time (1 µs later)", c with { MadeAt = c.MadeAt.AddTicks(10) }),
            ("source", c with { Source = "ventes-e" }),
        };
        foreach (var (what, checkpoint) in altered)
            Assert.False(key.PublicKey.Verifies(parsed with { Checkpoint = checkpoint }), $"{what} altered, still verifies");
        for (var i = 0; i < parsed.Signature.Length; i++)
        {
            var signature = (byte[])parsed.Signature.Clone();
            signature[i] ^= (byte)(1 << (i % 8));
            Assert.False(key.PublicKey.Verifies(parsed with { Signature = signature }), $"signature byte {i} altered, still verifies");
        }
        Assert.False(key.PublicKey.Verifies(parsed with { Signature = parsed.Signature[..63] }));
        Assert.False(key.PublicKey.Verifies(parsed with { Signature = [.. parsed.Signature, 0] }));
    }

    [Fact]
    public void A_checkpoint_signed_by_another_key_fails()
    {
        using var mine = SigningKey.Create(Path.Combine(_temp, "mine.pem"));
        using var theirs = SigningKey.Create(Path.Combine(_temp, "theirs.pem"));
        Assert.NotEqual(mine.KeyId, theirs.KeyId);
        var signed = theirs.Sign(Sample);
        Assert.True(theirs.PublicKey.Verifies(signed));
        Assert.False(mine.PublicKey.Verifies(signed));
        // Claiming my key id does not help.
        Assert.False(mine.PublicKey.Verifies(signed with { KeyId = mine.KeyId }));
    }

    [Fact]
    public void Signed_bytes_are_the_documented_text()
    {
        const string expected =
            "hindsight-checkpoint-v1\n" +
            "source ventes-é\n" +
            "blocks 3\n" +
            "changes 1234\n" +
            "position 16/B374D848\n" +
            "root 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n" +
            "head e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff\n" +
            "time 2026-12-05T11:30:00.123456Z\n";
        Assert.Equal(expected, Encoding.UTF8.GetString(Sample.SignedBytes()));
        Assert.Equal(Hex(Utf8(expected)), Hex(Sample.SignedBytes())); // exactly these bytes: UTF-8, no BOM
        // Small values: the LSN's halves without padding, the time's fraction always six digits.
        var small = Sample with { Blocks = 1, Changes = 0, Position = 0x1A2B, MadeAt = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero) };
        Assert.Contains("\nblocks 1\nchanges 0\nposition 0/1A2B\n", Encoding.UTF8.GetString(small.SignedBytes()), StringComparison.Ordinal);
        Assert.EndsWith("\ntime 2026-01-02T03:04:05.000000Z\n", Encoding.UTF8.GetString(small.SignedBytes()), StringComparison.Ordinal);
    }

    [Fact]
    public void Signing_key_is_never_overwritten()
    {
        var path = Path.Combine(_temp, "signing.pem");
        string before;
        using (SigningKey.Create(path)) before = File.ReadAllText(path);
        Assert.ThrowsAny<IOException>(() => SigningKey.Create(path));
        Assert.Equal(before, File.ReadAllText(path));
    }

    [Fact]
    public void Loading_a_missing_or_wrong_key_file_says_so()
    {
        Assert.Throws<FileNotFoundException>(() => SigningKey.Load(Path.Combine(_temp, "missing.pem")));
        Assert.Throws<FileNotFoundException>(() => VerifyingKey.Load(Path.Combine(_temp, "missing.pem")));

        var garbage = Path.Combine(_temp, "garbage.pem");
        File.WriteAllText(garbage, "not a key\n");
        Assert.Throws<FormatException>(() => SigningKey.Load(garbage));
        Assert.Throws<FormatException>(() => VerifyingKey.Load(garbage));

        // A public key where the private one is expected.
        using var key = SigningKey.Create(Path.Combine(_temp, "signing.pem"));
        var publicPem = Path.Combine(_temp, "public.pem");
        File.WriteAllText(publicPem, key.PublicKey.Pem);
        Assert.Throws<FormatException>(() => SigningKey.Load(publicPem));
    }

    [Fact]
    public void Verifying_key_loads_from_a_public_key_or_a_signing_key_file()
    {
        var privatePem = Path.Combine(_temp, "signing.pem");
        using var key = SigningKey.Create(privatePem);
        var publicPem = Path.Combine(_temp, "public.pem");
        File.WriteAllText(publicPem, key.PublicKey.Pem);
        var signed = key.Sign(Sample);
        foreach (var path in new[] { publicPem, privatePem })
        {
            var loaded = VerifyingKey.Load(path);
            Assert.Equal(key.KeyId, loaded.KeyId);
            Assert.Equal(key.PublicKey.Pem, loaded.Pem);
            Assert.True(loaded.Verifies(signed), path);
        }
    }

    [Fact]
    public void Parse_refuses_what_is_not_a_checkpoint_and_names_the_problem()
    {
        using var key = SigningKey.Create(Path.Combine(_temp, "signing.pem"));
        var good = key.Sign(Sample).ToJson();
        string With(string field, JsonNode? value)
        {
            var o = JsonNode.Parse(good)!.AsObject();
            if (value is null) o.Remove(field);
            else o[field] = value;
            return o.ToJsonString();
        }
        var cases = new (string Text, string Message)[]
        {
            ("not a checkpoint", "not JSON"),
            ("[1, 2]", "a checkpoint is a JSON object"),
            (With("format", "hindsight-checkpoint-v2"), "format is 'hindsight-checkpoint-v2'"),
            (With("format", null), "field 'format' is missing"),
            (With("root", new string('a', 62)), "field 'root' is not a 32-byte hash"),
            (With("head", new string('a', 66)), "field 'head' is not a 32-byte hash"),
            (With("root", new string('z', 64)), "a field is malformed"),
            (With("blocks", -1), "field 'blocks' is missing or not a count"),
            (With("changes", "12"), "field 'changes' is missing or not a count"),
            (With("signature", null), "field 'signature' is missing"),
            (With("position", "16B374D848"), "is not an LSN"),
            (With("time", "2026-12-05 11:30:00Z"), "a field is malformed"),
        };
        foreach (var (text, message) in cases)
        {
            var e = Assert.Throws<FormatException>(() => SignedCheckpoint.Parse(text));
            Assert.Contains(message, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task OpenSSL_reads_the_keys_and_makes_and_accepts_the_same_Ed25519_signatures()
    {
        // Standard Ed25519 (RFC 8032) over the signed bytes, keys in the PEM forms OpenSSL reads: a third party
        // needs nothing of ours to check a checkpoint.
        if (await OpenSslAsync("version") is not (0, var version, _))
        {
            output.WriteLine("openssl is not on this machine: the OpenSSL cross-check was skipped");
            return;
        }
        output.WriteLine(version);
        var keyFile = Path.Combine(_temp, "signing.pem");
        using var key = SigningKey.Create(keyFile);
        var signed = key.Sign(Sample);
        var (pub, msg, sig, tampered) = (Path.Combine(_temp, "pub.pem"), Path.Combine(_temp, "msg"), Path.Combine(_temp, "sig"), Path.Combine(_temp, "tampered"));
        await File.WriteAllTextAsync(pub, key.PublicKey.Pem);
        await File.WriteAllBytesAsync(msg, Sample.SignedBytes());
        await File.WriteAllBytesAsync(sig, signed.Signature);
        await File.WriteAllBytesAsync(tampered, (Sample with { Changes = 1235 }).SignedBytes());

        var verified = await OpenSslAsync("pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", msg, "-sigfile", sig);
        Assert.True(verified.Exit == 0, $"openssl refused the signature: {verified.Stdout}{verified.Stderr}");
        var refused = await OpenSslAsync("pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", tampered, "-sigfile", sig);
        Assert.True(refused.Exit != 0, "openssl accepted the signature for other bytes");

        // OpenSSL reads the private key file, derives the same public key, and (Ed25519 being deterministic) signs
        // the same bytes with the same signature.
        var derived = await OpenSslAsync("pkey", "-in", keyFile, "-pubout");
        Assert.Equal(0, derived.Exit);
        Assert.Equal(Hex(PemBody(key.PublicKey.Pem)), Hex(PemBody(derived.Stdout)));
        var ours = Path.Combine(_temp, "openssl.sig");
        Assert.Equal(0, (await OpenSslAsync("pkeyutl", "-sign", "-inkey", keyFile, "-rawin", "-in", msg, "-out", ours)).Exit);
        var theirs = await File.ReadAllBytesAsync(ours);
        Assert.Equal(Hex(signed.Signature), Hex(theirs));
        Assert.True(key.PublicKey.Verifies(signed with { Signature = theirs }));
    }

    // ---------------------------------------------------------------- Helpers

    /// <summary>Leaf values for the tree tests: distinct, SHA-256 of the index; made once (never altered in place).</summary>
    private static readonly byte[][] Leaves = Enumerable.Range(0, 600).Select(i =>
    {
        var bytes = new List<byte>();
        BigEndian(bytes, i, 8);
        return SHA256.HashData([.. bytes]);
    }).ToArray();

    private static byte[] Leaf(long i) => Leaves[i];

    /// <summary>The leaf input of <paramref name="c"/>, written out from the layout in docs/verification.md.</summary>
    private static byte[] LeafInput(StoredChange c)
    {
        var input = new List<byte> { 0x00 };
        foreach (var text in new[] { c.Source, c.Database, c.Schema, c.Table, c.PrimaryKey, c.Operation, c.Before, c.After, c.Context })
            LengthPrefixed(input, text);
        foreach (var number in new[] { c.CommittedAtMicros, c.TransactionId, c.Position, c.CommitLsn, c.Ordinal })
            BigEndian(input, number, 8);
        return [.. input];
    }

    private static byte[] FromStored(StoredChange c)
    {
        var leaf = new byte[MerkleTree.HashSize];
        var hasher = new ChangeLeaf();
        hasher.FromStored(c, leaf);
        return leaf;
    }

    /// <summary>A 4-byte big-endian byte count and the UTF-8 bytes; null is 0xFFFFFFFF and nothing.</summary>
    private static void LengthPrefixed(List<byte> to, string? text)
    {
        if (text is null)
        {
            to.AddRange([0xFF, 0xFF, 0xFF, 0xFF]);
            return;
        }
        var bytes = Encoding.UTF8.GetBytes(text);
        BigEndian(to, bytes.Length, 4);
        to.AddRange(bytes);
    }

    /// <summary>The low <paramref name="bytes"/> bytes of <paramref name="value"/> (two's complement), most significant first.</summary>
    private static void BigEndian(List<byte> to, long value, int bytes)
    {
        for (var shift = 8 * (bytes - 1); shift >= 0; shift -= 8) to.Add((byte)(value >> shift));
    }

    /// <summary>The DER inside a PEM block (whatever its line endings).</summary>
    private static byte[] PemBody(string pem) => Convert.FromBase64String(string.Concat(
        pem.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal))));

    private static long Micros(DateTimeOffset t) => (t - DateTimeOffset.UnixEpoch).Ticks / 10;

    private static long Micros(DateTime utc) => Micros(new DateTimeOffset(utc));

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    private static readonly EqualityComparer<byte[]> ByteArrays =
        EqualityComparer<byte[]>.Create((a, b) => a.AsSpan().SequenceEqual(b), a => a.Length);

    private static byte[] Concat(IEnumerable<byte[]> parts) => parts.SelectMany(p => p).ToArray();

    private static void AssertNotRoot(byte[] root, Func<byte[]> compute, string what)
    {
        byte[] got;
        try { got = compute(); }
        catch (FormatException) { return; }
        Assert.False(got.AsSpan().SequenceEqual(root), $"{what}: still gives the root");
    }

    private async Task<(int Exit, string Stdout, string Stderr)> OpenSslAsync(params string[] args)
    {
        var start = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _temp };
        foreach (var a in args) start.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(start)!; }
        catch (Win32Exception) { return (-1, "", "openssl not found"); }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, await stdout, await stderr);
        }
    }

    /// <summary>
    /// RFC 6962's definitions written out as they read, over leaves given by index: MTH splits at the largest power of
    /// two strictly below n; PATH is the sibling subtrees from the leaf up. Subtree hashes are memoised by
    /// (start, size), which changes nothing but the time.
    /// </summary>
    private sealed class NaiveTree
    {
        private readonly Func<long, byte[]> _leaf;
        private readonly Dictionary<(long, long), byte[]> _memo = [];

        private NaiveTree(Func<long, byte[]> leaf) => _leaf = leaf;

        public static NaiveTree Of(Func<long, byte[]> leaf) => new(leaf);

        /// <summary>MTH(D[start : start + n]).</summary>
        public byte[] Mth(long start, long n)
        {
            if (n == 0) return SHA256.HashData(Array.Empty<byte>());
            if (n == 1) return _leaf(start);
            if (_memo.TryGetValue((start, n), out var known)) return known;
            var k = SplitOf(n);
            byte[] input = [0x01, .. Mth(start, k), .. Mth(start + k, n - k)];
            return _memo[(start, n)] = SHA256.HashData(input);
        }

        /// <summary>PATH(m, D[start : start + n]), leaf first.</summary>
        public List<byte[]> Path(long m, long start, long n)
        {
            if (n <= 1) return [];
            var k = SplitOf(n);
            return m < k
                ? [.. Path(m, start, k), Mth(start + k, n - k)]
                : [.. Path(m - k, start + k, n - k), Mth(start, k)];
        }

        private static long SplitOf(long n)
        {
            var k = 1L;
            while (k * 2 < n) k *= 2;
            return k;
        }
    }
}
