using Hindsight.Postgres;
using Hindsight.Store;

namespace Hindsight.Setup;

/// <summary>
/// Which tables <c>setup</c> tracks, from <c>--tables</c>, <c>--schemas</c> and <c>--exclude-tables</c>, and how the
/// publication names them: whole schemas (<c>FOR TABLES IN SCHEMA</c>, PostgreSQL 15 and later, without exclusions)
/// and/or single tables.
/// </summary>
/// <param name="Schemas">The schemas the publication names whole.</param>
/// <param name="Tables">The tables it names one by one.</param>
/// <param name="Tracked">Every table tracked (partitioned ones by their root): those whose replica identity matters.</param>
/// <param name="ExcludesGiven">Tables were excluded, so the publication lists tables one by one.</param>
/// <param name="FellBackToList">Schemas were asked for, but the server cannot publish them whole: their tables are listed.</param>
/// <param name="Unlogged">Unlogged tables of the schemas, which cannot be captured.</param>
internal sealed record TableSelection(
    IReadOnlyList<SchemaRef> Schemas,
    IReadOnlyList<Rel> Tables,
    IReadOnlyList<Rel> Tracked,
    bool ExcludesGiven,
    bool FellBackToList,
    IReadOnlyList<string> Unlogged)
{
    private const int SchemaPublicationsSince = 150000;

    /// <summary>The table, schema and exclusion patterns of a setup, parsed: bad names fail before anything is read.</summary>
    public sealed record Patterns(IReadOnlyList<NamePattern> Tables, IReadOnlyList<NamePattern> Schemas, IReadOnlyList<NamePattern> Exclude)
    {
        /// <exception cref="SetupException">A name that cannot be parsed.</exception>
        public static Patterns Of(SetupOptions options) => new(
            NameList.Split(options.Tables).Select(t => SetupNames.ParseName(t, 2)).ToList(),
            NameList.Split(options.Schemas).Select(s => SetupNames.ParseName(s, 1)).ToList(),
            NameList.Split(options.ExcludeTables).Select(t => SetupNames.ParseName(t, 2)).ToList());
    }

    /// <summary>Resolves the patterns in the catalog (as PostgreSQL would, with the search_path) and checks every table can be tracked.</summary>
    /// <exception cref="SetupException">A name that matches nothing, or something that cannot be tracked or excluded.</exception>
    public static async Task<TableSelection> ResolveAsync(SetupCatalog catalog, ServerFacts server, Patterns patterns, CancellationToken ct)
    {
        var named = new List<Rel>();
        foreach (var p in patterns.Tables)
        {
            var rel = await catalog.ResolveTableAsync(p, ct).ConfigureAwait(false);
            CheckTrackable(rel, p.Input);
            if (rel.IsPartition)
                throw new SetupException(
                    $"{p.Input} is a partition of {rel.RootDisplay}: name the partitioned table {rel.RootDisplay} instead (changes of partitions are recorded under their root)");
            if (named.All(r => r.Oid != rel.Oid)) named.Add(rel);
        }

        var schemas = new List<SchemaRef>();
        foreach (var p in patterns.Schemas)
        {
            var s = await catalog.ResolveSchemaAsync(p, ct).ConfigureAwait(false);
            if (s.Name == StoreMigrations.Schema)
                throw new SetupException($"schema {StoreMigrations.Schema} holds the change store and is never tracked");
            if (IsSystemSchema(s.Name))
                throw new SetupException($"schema {PgNames.DisplayPart(s.Name)} is a system schema and cannot be tracked");
            if (schemas.All(x => x.Oid != s.Oid)) schemas.Add(s);
        }

        var excluded = new List<Rel>();
        foreach (var p in patterns.Exclude)
        {
            var rel = await catalog.ResolveTableAsync(p, ct).ConfigureAwait(false);
            if (rel.Kind is not ('r' or 'p'))
                throw new SetupException($"{p.Input} is {KindName(rel.Kind)}, not a table");
            if (rel.IsPartition)
                throw new SetupException(
                    $"{p.Input} is a partition of {rel.RootDisplay}: a single partition cannot be left out, because its changes are published through its root; exclude {rel.RootDisplay} instead");
            if (excluded.All(r => r.Oid != rel.Oid)) excluded.Add(rel);
        }

        var defaultAll = patterns.Tables.Count == 0 && patterns.Schemas.Count == 0;
        if (defaultAll)
            schemas.AddRange(await catalog.UserSchemasAsync(ct).ConfigureAwait(false));

        // Every table that the selection covers: the named ones, and the roots of the schemas' tables.
        var schemaOidArray = schemas.Select(s => s.Oid).ToArray();
        var inSchemas = schemas.Count == 0 ? [] : await catalog.TablesInSchemasAsync(schemaOidArray, ct).ConfigureAwait(false);
        var unlogged = schemas.Count == 0 ? [] : (await catalog.UnloggedTablesInSchemasAsync(schemaOidArray, ct).ConfigureAwait(false)).Select(r => r.Display).ToList();
        var covered = new List<Rel>(named);
        var coveredOids = new HashSet<uint>(named.Select(r => r.Oid));
        var schemaOids = new HashSet<uint>(inSchemas.Select(r => r.Oid));
        foreach (var r in inSchemas)
        {
            // A partition is covered through its root, unless that root lies outside the selection.
            if (r.IsPartition && (schemaOids.Contains(r.RootOid) || coveredOids.Contains(r.RootOid))) continue;
            if (coveredOids.Add(r.Oid)) covered.Add(r);
        }

        foreach (var x in excluded)
            if (!coveredOids.Contains(x.Oid))
                throw new SetupException($"{x.Display} is not among the tables to track, so it cannot be excluded");

        var tracked = covered.Where(r => excluded.All(x => x.Oid != r.Oid))
            .OrderBy(r => r.Schema, StringComparer.Ordinal).ThenBy(r => r.Name, StringComparer.Ordinal).ToList();

        var useSchemas = excluded.Count == 0 && server.VersionNum >= SchemaPublicationsSince;
        if (useSchemas)
        {
            // Named tables inside a published schema are covered by it already.
            var schemaSet = new HashSet<uint>(schemas.Select(s => s.Oid));
            var extra = named.Where(r => !schemaSet.Contains(r.SchemaOid)).ToList();
            return new TableSelection(schemas, extra, tracked, false, false, unlogged);
        }
        return new TableSelection([], tracked, tracked, excluded.Count > 0, schemas.Count > 0 && excluded.Count == 0, unlogged);
    }

    private static bool IsSystemSchema(string name) =>
        name.StartsWith("pg_", StringComparison.Ordinal) || name == "information_schema";

    private static void CheckTrackable(Rel rel, string input)
    {
        if (rel.Schema == StoreMigrations.Schema)
            throw new SetupException($"{input} belongs to the change store (schema {StoreMigrations.Schema}) and is never tracked");
        if (IsSystemSchema(rel.Schema))
            throw new SetupException($"{input} is a system table and cannot be tracked");
        if (rel.Kind is not ('r' or 'p'))
            throw new SetupException($"{input} is {KindName(rel.Kind)}, not a table: only tables can be tracked");
        if (rel.Persistence == 'u')
            throw new SetupException($"{input} is an unlogged table: its changes are not written to the WAL, so they cannot be captured");
        if (rel.Persistence == 't')
            throw new SetupException($"{input} is a temporary table and cannot be tracked");
    }

    private static string KindName(char kind) => kind switch
    {
        'r' => "a table",
        'p' => "a partitioned table",
        'v' => "a view",
        'm' => "a materialized view",
        'f' => "a foreign table",
        'S' => "a sequence",
        'i' or 'I' => "an index",
        'c' => "a composite type",
        't' => "a TOAST table",
        _ => $"a relation of kind '{kind}'",
    };
}
