using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Store;

/// <summary>
/// The store's sources (<c>hindsight.sources</c>): which name each tracked database has. Setup and the worker register
/// the database they are given; readers and reverts find a database's name from its identity.
/// </summary>
public static class SourceRegistry
{
    /// <summary>Names may hold letters, digits, <c>_ - . :</c>; at most 63 characters.</summary>
    public static string? ValidateName(string? name)
    {
        if (name is null) return null;
        if (name.Length is 0 or > 63 || !name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-' or '.' or ':'))
            throw new ArgumentException(
                $"--source-name: '{name}' is not a source name; use 1 to 63 letters, digits, '_', '-', '.' or ':'");
        return name;
    }

    /// <summary>
    /// The name of the source <paramref name="identity"/> is, registering it when the store does not know it yet:
    /// under <paramref name="requestedName"/>, or by default under its database's name.
    /// </summary>
    /// <exception cref="SourceNameException">
    /// The name is taken by another tracked database; or this database is already a source under another name.
    /// </exception>
    internal static async Task<string> RegisterAsync(NpgsqlDataSource store, SourceIdentity identity, string? requestedName, CancellationToken ct)
    {
        ValidateName(requestedName);
        var conn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        // No table lock (the least-privilege writer may not take one): the name and the identity are unique keys, so of
        // two setups or workers registering at once one insert wins, and the other reads the table again and decides.
        for (var attempt = 1; ; attempt++)
        {
            try { return await RegisterOnceAsync(conn, identity, requestedName, ct).ConfigureAwait(false); }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && attempt < 3) { }
        }
    }

    private static async Task<string> RegisterOnceAsync(NpgsqlConnection conn, SourceIdentity identity, string? requestedName, CancellationToken ct)
    {
        var sources = await ReadAllAsync(conn, ct).ConfigureAwait(false);
        // A name given for this very database (as far as its identity can tell) is the answer, even where the identity
        // alone would be ambiguous (a role that cannot read the system identifier, two sources of that database name).
        if (sources.FirstOrDefault(s => s.Name == requestedName) is { } named && Compatible(named, identity) &&
            (identity.SystemIdentifier is null || named.SystemIdentifier is not null ||
             sources.All(s => s.SystemIdentifier != identity.SystemIdentifier || s.Database != identity.Database)))
        {
            if (named.SystemIdentifier is null && identity.SystemIdentifier is not null)
                await ClaimAsync(conn, named.Name, identity.SystemIdentifier, ct).ConfigureAwait(false);
            return named.Name;
        }
        var mine = Find(sources, identity);
        if (mine is not null)
        {
            if (requestedName is not null && requestedName != mine.Name)
                throw new SourceNameException(
                    $"{identity} is already a source of this store, named '{mine.Name}'; a source keeps its name: " +
                    $"use --source-name {mine.Name} (or leave it out)");
            if (mine.SystemIdentifier is null && identity.SystemIdentifier is not null)
                await ClaimAsync(conn, mine.Name, identity.SystemIdentifier, ct).ConfigureAwait(false);
            return mine.Name;
        }

        var name = requestedName ?? identity.Database;
        var taken = sources.FirstOrDefault(s => s.Name == name);
        if (taken is not null)
            throw new SourceNameException(
                $"the store already has a source named '{name}': {Describe(taken)}, not {identity}. " +
                $"Give this one a name of its own with --source-name NAME (for example --source-name {Suggest(sources, identity)}) " +
                "and use the same name with setup, run, status and teardown");
        var insert = new NpgsqlCommand(
            "INSERT INTO hindsight.sources (name, system_identifier, database) VALUES ($1, $2, $3)", conn);
        await using var insertDisposal = insert.ConfigureAwait(false);
        insert.Parameters.AddWithValue(name);
        insert.Parameters.Add(new NpgsqlParameter { Value = (object?)identity.SystemIdentifier ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        insert.Parameters.AddWithValue(identity.Database);
        await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        return name;
    }

    /// <summary>
    /// The name of the source <paramref name="identity"/> is, without registering anything; null when the store does not
    /// know it. <paramref name="requestedName"/>, when given, must be that source's name.
    /// </summary>
    /// <exception cref="SourceNameException">The requested name is another database's, or the identity is ambiguous.</exception>
    public static async Task<string?> FindNameAsync(NpgsqlDataSource store, SourceIdentity identity, string? requestedName, CancellationToken ct)
    {
        var sources = await ReadStoredAsync(store, ct).ConfigureAwait(false);
        if (sources is null) return null; // a store from before sources: setup migrates it
        if (requestedName is not null)
        {
            var named = sources.FirstOrDefault(s => s.Name == requestedName);
            if (named is null) return null;
            // The named source must be this database: the same name, and the same server where both are known.
            var exact = identity.SystemIdentifier is null ? null
                : sources.FirstOrDefault(s => s.SystemIdentifier == identity.SystemIdentifier && s.Database == identity.Database);
            if (!Compatible(named, identity) || exact is not null && exact.Name != requestedName)
                throw new SourceNameException($"source '{requestedName}' of the store is {Describe(named)}, not {identity}");
            return requestedName;
        }
        return Find(sources, identity)?.Name;
    }

    /// <summary>Every source of the store, by name.</summary>
    internal static async Task<IReadOnlyList<StoredSource>> ListAsync(NpgsqlDataSource store, CancellationToken ct) =>
        await ReadStoredAsync(store, ct).ConfigureAwait(false) ?? [];

    /// <summary>The store's sources; null for a store from before sources (no <c>hindsight.sources</c> yet).</summary>
    private static async Task<List<StoredSource>?> ReadStoredAsync(NpgsqlDataSource store, CancellationToken ct)
    {
        var conn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        return await StoreMigrations.HasTableAsync(conn, null, "sources", ct).ConfigureAwait(false) ? await ReadAllAsync(conn, ct).ConfigureAwait(false) : null;
    }

    /// <summary>
    /// The source that is <paramref name="identity"/>: the one with its system identifier and database; failing that, one
    /// carried over from an older store (no system identifier yet) with its database name, when exactly one has it; or,
    /// when the identity's system identifier is unknown, the one source with its database name.
    /// </summary>
    private static StoredSource? Find(IReadOnlyList<StoredSource> sources, SourceIdentity identity)
    {
        if (identity.SystemIdentifier is not null &&
            sources.FirstOrDefault(s => s.SystemIdentifier == identity.SystemIdentifier && s.Database == identity.Database) is { } exact)
            return exact;
        var candidates = sources.Where(s => s.Database == identity.Database && (s.SystemIdentifier is null || identity.SystemIdentifier is null)).ToList();
        if (candidates.Count > 1)
            throw new SourceNameException(
                $"the store has {candidates.Count} sources of a database named {identity.Database} " +
                $"({string.Join(", ", candidates.Select(c => c.Name))}) and this server's system identifier cannot be read " +
                "(EXECUTE on pg_control_system() or the REPLICATION attribute is needed): name the source with --source-name");
        return candidates.Count == 1 ? candidates[0] : null;
    }

    private static bool Compatible(StoredSource s, SourceIdentity identity) =>
        s.Database == identity.Database && (s.SystemIdentifier is null || identity.SystemIdentifier is null || s.SystemIdentifier == identity.SystemIdentifier);

    private static string Describe(StoredSource s) =>
        s.SystemIdentifier is null ? $"database {s.Database}" : $"database {s.Database} of server {s.SystemIdentifier}";

    private static string Suggest(IReadOnlyList<StoredSource> sources, SourceIdentity identity)
    {
        for (var i = 2; ; i++)
        {
            var candidate = $"{identity.Database}-{i}";
            if (sources.All(s => s.Name != candidate)) return candidate;
        }
    }

    private static async Task ClaimAsync(NpgsqlConnection conn, string name, string systemIdentifier, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand("UPDATE hindsight.sources SET system_identifier = $2 WHERE name = $1 AND system_identifier IS NULL", conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(name);
        cmd.Parameters.AddWithValue(systemIdentifier);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static async Task<List<StoredSource>> ReadAllAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand("SELECT name, system_identifier, database FROM hindsight.sources ORDER BY name", conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        var list = new List<StoredSource>();
        while (await r.ReadAsync(ct).ConfigureAwait(false)) list.Add(new StoredSource(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetString(2)));
        return list;
    }
}
