using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hindsight.Chain;

/// <summary>
/// Proof that one stored change is in a signed checkpoint's tree: the change as stored, the audit path of its leaf in
/// its run, of its run in its block, and of its block in the checkpoint's tree (RFC 6962 audit paths, O(log n) hashes
/// each), and the checkpoint. Anyone with the public key can check it without the store (docs/verification.md,
/// "Checking a proof by hand").
/// </summary>
public sealed class InclusionProof
{
    /// <summary>The format's name, in every proof.</summary>
    public const string Format = "hindsight-inclusion-proof-v1";

    internal StoredChange Change { get; }
    internal ChainRun Run { get; }
    internal int LeafIndex { get; }
    internal IReadOnlyList<byte[]> RunPath { get; }
    internal long BlockNumber { get; }
    internal byte[] PreviousHash { get; }
    internal int BlockChanges { get; }
    internal long PriorChanges { get; }
    internal byte[] RunsDigest { get; }
    internal int RunIndex { get; }
    internal int Runs { get; }
    internal IReadOnlyList<byte[]> BlockPath { get; }
    internal IReadOnlyList<byte[]> TreePath { get; }

    /// <summary>The checkpoint the change is proved against.</summary>
    public SignedCheckpoint Checkpoint { get; }

    /// <summary>The stored change's id.</summary>
    public long ChangeId => Change.Id;

    /// <summary>Hashes in the proof (the three audit paths).</summary>
    public int PathLength => RunPath.Count + BlockPath.Count + TreePath.Count;

    internal InclusionProof(StoredChange change, ChainRun run, int leafIndex, IReadOnlyList<byte[]> runPath, long blockNumber, byte[] previousHash,
        int blockChanges, long priorChanges, byte[] runsDigest, int runIndex, int runs, IReadOnlyList<byte[]> blockPath, IReadOnlyList<byte[]> treePath,
        SignedCheckpoint checkpoint)
    {
        Change = change; Run = run; LeafIndex = leafIndex; RunPath = runPath; BlockNumber = blockNumber; PreviousHash = previousHash;
        BlockChanges = blockChanges; PriorChanges = priorChanges; RunsDigest = runsDigest; RunIndex = runIndex; Runs = runs;
        BlockPath = blockPath; TreePath = treePath; Checkpoint = checkpoint;
    }

    /// <summary>Recomputes the tree root from the change up, as a third party would; null when the proof holds, else what fails.</summary>
    public string? Problem(VerifyingKey? key)
    {
        var c = Checkpoint.Checkpoint;
        if (Change.Source != c.Source) return $"the change is of source '{Change.Source}', the checkpoint of '{c.Source}'";
        if (key is not null && Checkpoint.KeyId != key.KeyId) return $"the checkpoint was signed by key {Checkpoint.KeyId}, not by the key given ({key.KeyId})";
        if (key is not null && !key.Verifies(Checkpoint)) return "the checkpoint's signature fails: it was altered or forged";
        try
        {
            var leaf = new byte[MerkleTree.HashSize];
            new ChangeLeaf().FromStored(Change, leaf);
            if (Change.CommitLsn != Run.CommitLsn || Change.Ordinal != Run.FirstOrdinal + LeafIndex)
                return "the change's commit LSN and ordinal are not the place its run gives it";
            var runRoot = MerkleTree.RootFromPath(leaf, LeafIndex, Run.Count, RunPath);
            var blockRoot = MerkleTree.RootFromPath(runRoot, RunIndex, Runs, BlockPath);
            var blockHash = ChainBlock.HashOf(Change.Source, BlockNumber, PreviousHash, blockRoot, BlockChanges, PriorChanges, RunsDigest);
            var root = MerkleTree.RootFromPath(blockHash, BlockNumber, c.Blocks, TreePath);
            return root.AsSpan().SequenceEqual(c.Root) ? null : "the paths do not lead to the checkpoint's root: the change or the proof was altered";
        }
        catch (Exception e) when (e is FormatException or ArgumentOutOfRangeException)
        {
            return $"the proof is malformed: {e.Message}";
        }
    }

    /// <summary>The proof as JSON: hashes in hex, the change's jsonb columns as the exact text that was hashed.</summary>
    public string ToJson()
    {
        var c = Change;
        static JsonArray Hex(IEnumerable<byte[]> path) => new(path.Select(p => (JsonNode)JsonValue.Create(Convert.ToHexStringLower(p))).ToArray());
        var o = new JsonObject
        {
            ["format"] = Format,
            ["change"] = new JsonObject
            {
                ["id"] = c.Id, ["source"] = c.Source, ["database"] = c.Database, ["schema"] = c.Schema, ["table"] = c.Table,
                ["primary_key"] = c.PrimaryKey, ["operation"] = c.Operation, ["before"] = c.Before, ["after"] = c.After, ["context"] = c.Context,
                ["committed_at_micros"] = c.CommittedAtMicros, ["transaction_id"] = c.TransactionId, ["position"] = c.Position,
                ["commit_lsn"] = c.CommitLsn, ["ordinal"] = c.Ordinal,
            },
            ["run"] = new JsonObject
            {
                ["commit_lsn"] = Run.CommitLsn, ["first_ordinal"] = Run.FirstOrdinal, ["count"] = Run.Count,
                ["committed_at_micros"] = Run.CommittedAtMicros, ["leaf_index"] = LeafIndex, ["path"] = Hex(RunPath),
            },
            ["block"] = new JsonObject
            {
                ["number"] = BlockNumber, ["previous_hash"] = Convert.ToHexStringLower(PreviousHash), ["changes"] = BlockChanges,
                ["prior_changes"] = PriorChanges, ["runs_digest"] = Convert.ToHexStringLower(RunsDigest), ["run_index"] = RunIndex, ["runs"] = Runs,
                ["path"] = Hex(BlockPath),
            },
            ["tree"] = new JsonObject { ["size"] = Checkpoint.Checkpoint.Blocks, ["index"] = BlockNumber, ["path"] = Hex(TreePath) },
            ["checkpoint"] = JsonNode.Parse(Checkpoint.ToJson()),
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    /// <summary>Reads a proof written by <see cref="ToJson"/>.</summary>
    /// <exception cref="FormatException">It is not a proof; the message says what is wrong.</exception>
    public static InclusionProof Parse(string json)
    {
        JsonObject o;
        try { o = JsonNode.Parse(json) as JsonObject ?? throw new FormatException("a proof is a JSON object"); }
        catch (JsonException e) { throw new FormatException($"not JSON: {e.Message}", e); }
        if (Str(o, "format") != Format) throw new FormatException($"format is not '{Format}'");
        try
        {
            var c = Obj(o, "change");
            var change = new StoredChange(Long(c, "id"), Str(c, "source"), Str(c, "database"), Str(c, "schema"), Str(c, "table"),
                c["primary_key"] is null ? null : Str(c, "primary_key"), Str(c, "operation"), Str(c, "before"), Str(c, "after"), Str(c, "context"),
                Long(c, "committed_at_micros"), Long(c, "transaction_id"), Long(c, "position"), Long(c, "commit_lsn"), (int)Long(c, "ordinal"));
            var r = Obj(o, "run");
            var run = new ChainRun(Long(r, "commit_lsn"), (int)Long(r, "first_ordinal"), (int)Long(r, "count"), Long(r, "committed_at_micros"));
            var b = Obj(o, "block");
            var t = Obj(o, "tree");
            var checkpoint = SignedCheckpoint.Parse(Obj(o, "checkpoint").ToJsonString());
            if (Long(t, "size") != checkpoint.Checkpoint.Blocks || Long(t, "index") != Long(b, "number"))
                throw new FormatException("the tree's size or index disagrees with the checkpoint or the block");
            return new InclusionProof(change, run, (int)Long(r, "leaf_index"), Path(r), Long(b, "number"), Hash(b, "previous_hash"), (int)Long(b, "changes"),
                Long(b, "prior_changes"), Hash(b, "runs_digest"), (int)Long(b, "run_index"), (int)Long(b, "runs"), Path(b), Path(t), checkpoint);
        }
        catch (Exception e) when (e is InvalidOperationException or OverflowException)
        {
            throw new FormatException($"a field is malformed: {e.Message}", e);
        }
    }

    private static JsonObject Obj(JsonObject o, string name) => o[name] as JsonObject ?? throw new FormatException($"'{name}' is missing");
    private static string Str(JsonObject o, string name) => o[name]?.GetValue<string>() ?? throw new FormatException($"'{name}' is missing");
    private static long Long(JsonObject o, string name) => o[name]?.GetValue<long>() ?? throw new FormatException($"'{name}' is missing");
    private static byte[] Hash(JsonObject o, string name) => Convert.FromHexString(Str(o, name));
    private static List<byte[]> Path(JsonObject o) =>
        (o["path"] as JsonArray ?? throw new FormatException("'path' is missing")).Select(n => Convert.FromHexString(n!.GetValue<string>())).ToList();

    /// <summary>A one-paragraph account of the proof for a terminal.</summary>
    public string Describe()
    {
        var c = Change;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"change {c.Id} ({c.Operation} of {c.Schema}.{c.Table}{(c.PrimaryKey is null ? "" : $" key {c.PrimaryKey}")}, ");
        sb.Append(CultureInfo.InvariantCulture, $"commit {Chain.Checkpoint.Lsn((ulong)c.CommitLsn)} ordinal {c.Ordinal}) is leaf {LeafIndex} of {Run.Count} in its run, ");
        sb.Append(CultureInfo.InvariantCulture, $"run {RunIndex} of {Runs} in block {BlockNumber:N0}, and block {BlockNumber:N0} of the {Checkpoint.Checkpoint.Blocks:N0} ");
        sb.Append(CultureInfo.InvariantCulture, $"in the checkpoint of {Chain.Checkpoint.Time(Checkpoint.Checkpoint.MadeAt)} (key {Checkpoint.KeyId}); {PathLength} hashes");
        return sb.ToString();
    }
}
