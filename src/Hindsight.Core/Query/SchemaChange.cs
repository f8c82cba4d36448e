using System.Text.Json.Nodes;
using Hindsight.Model;

namespace Hindsight.Query;

/// <summary>
/// One schema change of a tracked table, as the trail holds it (<c>hindsight.schema_changes</c>): who made it, when,
/// with which statement, and what it did to the table's columns.
/// </summary>
public sealed record SchemaChange
{
    /// <summary>Ordered identity in the store.</summary>
    public required long Id { get; init; }
    /// <summary>The source the change was captured from.</summary>
    public required string Source { get; init; }
    /// <summary>The tracked database.</summary>
    public required string Database { get; init; }
    /// <summary>The table, under its name after the change (a dropped table under its last name).</summary>
    public required TableName Table { get; init; }
    /// <summary>The command tag: <c>CREATE TABLE</c>, <c>ALTER TABLE</c>, <c>DROP TABLE</c>…, or <c>SNAPSHOT</c> for the
    /// columns setup recorded when tracking began.</summary>
    public required string CommandTag { get; init; }
    /// <summary>The statement exactly as the client sent it (null for a snapshot). A script sent as one query string is
    /// the statement of every command in it.</summary>
    public string? Statement { get; init; }
    /// <summary>True when the statement was longer than the trigger keeps (1 MiB) and is cut.</summary>
    public bool StatementTruncated { get; init; }
    /// <summary>The database role of the session that ran it.</summary>
    public string? Role { get; init; }
    /// <summary>The application context of its transaction (an EF Core migration's id, a user…); empty where there is none.</summary>
    public required JsonObject Context { get; init; }
    /// <summary>Commit time of the source transaction.</summary>
    public required DateTimeOffset CommittedAt { get; init; }
    /// <summary>The source transaction id (xid).</summary>
    public required long TransactionId { get; init; }
    /// <summary>LSN of the source transaction's commit.</summary>
    public required long CommitLsn { get; init; }
    /// <summary>The table's columns after the change (empty for a drop).</summary>
    public required IReadOnlyList<TableColumn> Columns { get; init; }
    /// <summary>Who made it, for people: the context's migration and user, then the database role; null when none is
    /// known (a change read from pgoutput's relation messages without context).</summary>
    public string? MadeBy
    {
        get
        {
            var parts = new List<string>();
            foreach (var key in new[] { "migration", "migrationId", "userId", "user" })
                if (Context[key] is { } v) parts.Add(v is JsonValue value && value.TryGetValue(out string? text) ? text : v.ToJsonString());
            if (Role is { } role) parts.Add($"role {role}");
            return parts.Count == 0 ? null : string.Join(", ", parts.Distinct(StringComparer.Ordinal));
        }
    }

    /// <summary>What the change did, one line per effect, compared with the table's previous recorded state: "column
    /// email renamed to contact_email", "table renamed from public.person", "column age dropped"…</summary>
    public required IReadOnlyList<string> Effects { get; init; }
}

/// <summary>A column of a table as a schema change left it.</summary>
/// <param name="Number">Its number in the source (attnum), kept through renames and retypes.</param>
/// <param name="Name">Its name.</param>
/// <param name="Type">Its type, as PostgreSQL's <c>format_type()</c> writes it.</param>
/// <param name="NotNull">Whether it is NOT NULL.</param>
/// <param name="Default">Its default expression (for a generated column, its generation expression), or null.</param>
/// <param name="Generated">Whether it is a generated column.</param>
public sealed record TableColumn(int Number, string Name, string Type, bool NotNull, string? Default, bool Generated);
