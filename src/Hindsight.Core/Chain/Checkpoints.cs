using System.Globalization;
using Npgsql;

namespace Hindsight.Chain;

/// <summary>
/// Makes, records and reads the checkpoints of a store's chains: a signed statement of a source's chain head, kept in
/// <c>hindsight.checkpoints</c> and, when given a directory, in a file of its own there (on WORM storage, another
/// host, a witness), where rewriting the store cannot reach it.
/// </summary>
/// <param name="store">The store database (the one holding schema <c>hindsight</c>).</param>
public sealed class Checkpoints(NpgsqlDataSource store)
{
    private readonly NpgsqlDataSource _store = store ?? throw new ArgumentNullException(nameof(store));

    /// <summary>Signs the chain head of <paramref name="source"/> as it is now and records it in the store.</summary>
    /// <returns>The checkpoint, or null when the source has no block yet.</returns>
    /// <exception cref="ChainException">The store keeps no chain.</exception>
    public async Task<SignedCheckpoint?> MakeAsync(string source, SigningKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(key);
        var ct = cancellationToken;
        var conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        await RequireChainAsync(conn, ct).ConfigureAwait(false);
        if (await Checkpoint.OfHeadAsync(conn, source, ct).ConfigureAwait(false) is not { } head) return null;
        var signed = key.Sign(head);
        var cmd = new NpgsqlCommand(
            """
            WITH key AS (INSERT INTO hindsight.chain_keys (key_id, public_key) VALUES ($8, $10) ON CONFLICT (key_id) DO NOTHING)
            INSERT INTO hindsight.checkpoints (source, blocks, changes, position, root, head, made_at, key_id, signature, document)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11)
            """, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(head.Source);
        cmd.Parameters.AddWithValue(head.Blocks);
        cmd.Parameters.AddWithValue(head.Changes);
        cmd.Parameters.AddWithValue((long)head.Position);
        cmd.Parameters.AddWithValue(head.Root);
        cmd.Parameters.AddWithValue(head.Head);
        cmd.Parameters.AddWithValue(head.MadeAt);
        cmd.Parameters.AddWithValue(signed.KeyId);
        cmd.Parameters.AddWithValue(signed.Signature);
        cmd.Parameters.AddWithValue(key.PublicKey.Pem);
        cmd.Parameters.AddWithValue(signed.ToJson());
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        return signed;
    }

    /// <summary>Records a public key in the store, so that verification and the dashboard can name it.</summary>
    public async Task RecordKeyAsync(VerifyingKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var cmd = _store.CreateCommand("INSERT INTO hindsight.chain_keys (key_id, public_key) VALUES ($1, $2) ON CONFLICT (key_id) DO NOTHING");
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(key.KeyId);
        cmd.Parameters.AddWithValue(key.Pem);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The newest checkpoint recorded for <paramref name="source"/> (any source when null), or null.</summary>
    public async Task<SignedCheckpoint?> LatestAsync(string? source, CancellationToken cancellationToken = default)
    {
        var conn = await _store.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        if (!await Store.StoreMigrations.HasTableAsync(conn, null, "checkpoints", cancellationToken).ConfigureAwait(false)) return null;
        var cmd = new NpgsqlCommand("SELECT document FROM hindsight.checkpoints WHERE $1::text IS NULL OR source = $1 ORDER BY made_at DESC, id DESC LIMIT 1", conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)source ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json ? SignedCheckpoint.Parse(json) : null;
    }

    /// <summary>
    /// The newest checkpoint of each source (of <paramref name="source"/> only, when given), by source name, each with the
    /// public key the store records for its key id (null when it records none). Empty on a store that keeps no chain.
    /// </summary>
    /// <remarks>
    /// One statement for every source, rather than <see cref="LatestAsync"/> once per source. A
    /// record that cannot be read is left out, as verification leaves it out: the files kept elsewhere are what count.
    /// </remarks>
    public async Task<IReadOnlyList<RecordedCheckpoint>> LatestPerSourceAsync(string? source, CancellationToken cancellationToken = default)
    {
        var conn = await _store.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        var has = new NpgsqlCommand("SELECT to_regclass('hindsight.checkpoints') IS NOT NULL AND to_regclass('hindsight.chain_keys') IS NOT NULL", conn);
        await using (has.ConfigureAwait(false))
            if (!(bool)(await has.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!) return [];
        var cmd = new NpgsqlCommand(
            """
            SELECT DISTINCT ON (source) document FROM hindsight.checkpoints
             WHERE $1::text IS NULL OR source = $1
             ORDER BY source, made_at DESC, id DESC
            """, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)source ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        var latest = new List<SignedCheckpoint>();
        var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (r.ConfigureAwait(false))
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                try { latest.Add(SignedCheckpoint.Parse(r.GetString(0))); }
                catch (FormatException) { /* an unreadable record vouches for nothing */ }
            }
        if (latest.Count == 0) return [];
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        var read = new NpgsqlCommand("SELECT key_id, public_key FROM hindsight.chain_keys WHERE key_id = ANY($1)", conn);
        await using var readDisposal = read.ConfigureAwait(false);
        read.Parameters.AddWithValue(latest.Select(c => c.KeyId).Distinct().ToArray());
        var k = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (k.ConfigureAwait(false))
            while (await k.ReadAsync(cancellationToken).ConfigureAwait(false)) keys[k.GetString(0)] = k.GetString(1);
        return latest.Select(c => new RecordedCheckpoint(c, keys.GetValueOrDefault(c.KeyId))).ToList();
    }

    /// <summary>Writes a checkpoint file into <paramref name="directory"/> (created if missing), named after its source,
    /// size and time so that files never overwrite each other; written whole or not at all.</summary>
    /// <returns>The file's path.</returns>
    public static string WriteFile(SignedCheckpoint checkpoint, string directory)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        Directory.CreateDirectory(directory);
        var c = checkpoint.Checkpoint;
        var name = $"{c.Source.Replace(':', '_')}-{c.Blocks.ToString("D12", CultureInfo.InvariantCulture)}-" +
                   $"{c.MadeAt.UtcDateTime.ToString("yyyyMMdd'T'HHmmssffffff'Z'", CultureInfo.InvariantCulture)}.json";
        var path = Path.Combine(directory, name);
        WriteFileAt(checkpoint, path);
        return path;
    }

    /// <summary>Writes a checkpoint file at <paramref name="path"/>: to a temporary file first, then renamed, so no reader sees half of it.</summary>
    public static void WriteFileAt(SignedCheckpoint checkpoint, string path)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, checkpoint.ToJson());
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads a checkpoint file.</summary>
    /// <exception cref="ChainException">The file is missing or is not a checkpoint; the message names it and says why.</exception>
    public static SignedCheckpoint ReadFile(string path)
    {
        if (!File.Exists(path)) throw new ChainException($"no checkpoint file at {path}");
        try { return SignedCheckpoint.Parse(File.ReadAllText(path)); }
        catch (FormatException e) { throw new ChainException($"{path} is not a readable checkpoint: {e.Message}", e); }
    }

    /// <summary>What a store from before the chain is told.</summary>
    internal const string NoChain = "the store keeps no chain: run 'hindsight setup' to migrate it, and the worker chains what it stores from then on";

    internal static async Task RequireChainAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        if (!await Store.StoreMigrations.HasTableAsync(conn, null, "chain_blocks", ct).ConfigureAwait(false))
            throw new ChainException(NoChain);
    }
}

/// <summary>A checkpoint recorded in the store, with the public key the store records for its key id (null when none).</summary>
/// <param name="Checkpoint">The checkpoint.</param>
/// <param name="PublicKeyPem">The store's own record of the signing key's public half: it says nothing against whoever can
/// rewrite the store; check with the key kept elsewhere.</param>
public sealed record RecordedCheckpoint(SignedCheckpoint Checkpoint, string? PublicKeyPem);
