using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace Hindsight.Chain;

/// <summary>
/// A statement about a source's chain at one moment: how many blocks and changes it held, up to which commit, and the
/// root of the tree over its block hashes. Signed, it lets anyone holding the public key check the store later, offline.
/// </summary>
/// <param name="Source">The source's name in the store.</param>
/// <param name="Blocks">The number of blocks (the size of the tree).</param>
/// <param name="Changes">The number of changes in those blocks.</param>
/// <param name="Position">The commit LSN of the last change chained.</param>
/// <param name="Root">The RFC 6962 tree hash over the first <paramref name="Blocks"/> block hashes.</param>
/// <param name="Head">The hash of the last block.</param>
/// <param name="MadeAt">When the checkpoint was made (microseconds).</param>
public sealed record Checkpoint(string Source, long Blocks, long Changes, ulong Position, byte[] Root, byte[] Head, DateTimeOffset MadeAt)
{
    /// <summary>The format's name, in every checkpoint file and at the head of the signed text.</summary>
    public const string Format = "hindsight-checkpoint-v1";

    /// <summary>
    /// The exact bytes that are signed: UTF-8 lines <c>hindsight-checkpoint-v1</c>, <c>source NAME</c>,
    /// <c>blocks N</c>, <c>changes N</c>, <c>position X/Y</c>, <c>root HEX</c>, <c>head HEX</c>,
    /// <c>time YYYY-MM-DDTHH:MM:SS.ffffffZ</c>, each ended by a line feed.
    /// </summary>
    public byte[] SignedBytes() => Encoding.UTF8.GetBytes(
        $"{Format}\nsource {Source}\nblocks {Blocks.ToString(CultureInfo.InvariantCulture)}\nchanges {Changes.ToString(CultureInfo.InvariantCulture)}\n" +
        $"position {Lsn(Position)}\nroot {Convert.ToHexStringLower(Root)}\nhead {Convert.ToHexStringLower(Head)}\ntime {Time(MadeAt)}\n");

    /// <summary>An LSN as PostgreSQL writes it (<c>16/B374D848</c>).</summary>
    public static string Lsn(ulong lsn) => $"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}";

    /// <summary>A time as checkpoints write it: UTC, microseconds, <c>2026-12-05T11:30:00.123456Z</c>.</summary>
    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>The checkpoint of the chain as the store holds it now, or null when the source has no block yet.</summary>
    internal static async Task<Checkpoint?> OfHeadAsync(NpgsqlConnection store, string source, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            "SELECT block, hash, total_changes, frontier, last_commit_lsn, clock_timestamp() FROM hindsight.chain_blocks WHERE source = $1 ORDER BY block DESC LIMIT 1", store);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(source);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        if (!await r.ReadAsync(ct).ConfigureAwait(false)) return null;
        var blocks = r.GetInt64(0) + 1;
        var tree = new MerkleFrontier(blocks, r.GetFieldValue<byte[]>(3));
        var madeAt = r.GetFieldValue<DateTimeOffset>(5);
        return new Checkpoint(source, blocks, r.GetInt64(2), (ulong)r.GetInt64(4), tree.Root(), r.GetFieldValue<byte[]>(1),
            madeAt.AddTicks(-(madeAt.Ticks % 10)));
    }
}

/// <summary>A checkpoint with its Ed25519 signature and the id of the key that made it: what a checkpoint file holds.</summary>
/// <param name="Checkpoint">What is signed.</param>
/// <param name="KeyId">The signing key's id (<see cref="SigningKey.KeyId"/>).</param>
/// <param name="Signature">The Ed25519 signature of <see cref="Checkpoint.SignedBytes"/>.</param>
public sealed record SignedCheckpoint(Checkpoint Checkpoint, string KeyId, byte[] Signature)
{
    /// <summary>The checkpoint file: a JSON object with the checkpoint's fields, hashes in hex, the signature in base64.</summary>
    public string ToJson()
    {
        var c = Checkpoint;
        var o = new JsonObject
        {
            ["format"] = Checkpoint.Format,
            ["source"] = c.Source,
            ["blocks"] = c.Blocks,
            ["changes"] = c.Changes,
            ["position"] = Checkpoint.Lsn(c.Position),
            ["root"] = Convert.ToHexStringLower(c.Root),
            ["head"] = Convert.ToHexStringLower(c.Head),
            ["time"] = Checkpoint.Time(c.MadeAt),
            ["key_id"] = KeyId,
            ["signature"] = Convert.ToBase64String(Signature),
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>Reads a checkpoint file's text.</summary>
    /// <exception cref="FormatException">It is not a checkpoint: the message says what is wrong.</exception>
    public static SignedCheckpoint Parse(string json)
    {
        JsonObject o;
        try { o = JsonNode.Parse(json) as JsonObject ?? throw new FormatException("a checkpoint is a JSON object"); }
        catch (JsonException e) { throw new FormatException($"not JSON: {e.Message}", e); }
        var format = Text(o, "format");
        if (format != Checkpoint.Format) throw new FormatException($"format is '{format}', not '{Checkpoint.Format}'");
        try
        {
            var checkpoint = new Checkpoint(
                Text(o, "source"),
                Number(o, "blocks"),
                Number(o, "changes"),
                ParseLsn(Text(o, "position")),
                Hash(o, "root"),
                Hash(o, "head"),
                DateTimeOffset.ParseExact(Text(o, "time"), "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal));
            return new SignedCheckpoint(checkpoint, Text(o, "key_id"), Convert.FromBase64String(Text(o, "signature")));
        }
        catch (FormatException e) when (e.Message.StartsWith("field ", StringComparison.Ordinal)) { throw; }
        catch (FormatException e) { throw new FormatException($"a field is malformed: {e.Message}", e); }
    }

    private static string Text(JsonObject o, string name) =>
        o[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new FormatException($"field '{name}' is missing or not a string");

    private static long Number(JsonObject o, string name) =>
        o[name] is JsonValue v && v.TryGetValue<long>(out var n) && n >= 0 ? n : throw new FormatException($"field '{name}' is missing or not a count");

    private static byte[] Hash(JsonObject o, string name)
    {
        var bytes = Convert.FromHexString(Text(o, name));
        return bytes.Length == MerkleTree.HashSize ? bytes : throw new FormatException($"field '{name}' is not a 32-byte hash");
    }

    private static ulong ParseLsn(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2) throw new FormatException($"'{text}' is not an LSN");
        return (ulong.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture) << 32) |
               ulong.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }
}
