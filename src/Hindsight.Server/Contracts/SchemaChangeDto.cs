using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Hindsight.Query;

namespace Hindsight.Server.Contracts;

/// <summary>One schema change of a tracked table (CREATE, ALTER, DROP…): who made it, when, with which statement, and
/// what it did to the table's columns.</summary>
internal sealed record SchemaChangeDto
{
    /// <summary>Ordered identity in the store.</summary>
    [JsonPropertyName("id")] public required long Id { get; init; }
    /// <summary>The source the change was captured from (its name in the store).</summary>
    [JsonPropertyName("source")] public required string Source { get; init; }
    /// <summary>The tracked database, by name on its server.</summary>
    [JsonPropertyName("database")] public required string Database { get; init; }
    /// <summary>The table's schema after the change.</summary>
    [JsonPropertyName("schema")] public required string Schema { get; init; }
    /// <summary>The table's name after the change (a dropped table's last name).</summary>
    [JsonPropertyName("table")] public required string Table { get; init; }
    /// <summary><c>CREATE TABLE</c>, <c>ALTER TABLE</c>, <c>DROP TABLE</c>…, or <c>SNAPSHOT</c>: the columns recorded when tracking began.</summary>
    [JsonPropertyName("command_tag")] public required string CommandTag { get; init; }
    /// <summary>The statement exactly as the client sent it; null for a snapshot.</summary>
    [JsonPropertyName("statement")] public string? Statement { get; init; }
    /// <summary>Whether the statement was longer than the store keeps (1 MiB) and is cut.</summary>
    [JsonPropertyName("statement_truncated")] public required bool StatementTruncated { get; init; }
    /// <summary>The database role of the session that ran it.</summary>
    [JsonPropertyName("role")] public string? Role { get; init; }
    /// <summary>The application context of its transaction (a migration's id, a user…); <c>{}</c> where none.</summary>
    [JsonPropertyName("context")] public required JsonObject Context { get; init; }
    /// <summary>Commit time of the source transaction (UTC).</summary>
    [JsonPropertyName("committed_at")] public required string CommittedAt { get; init; }
    /// <summary>The source transaction id (xid).</summary>
    [JsonPropertyName("transaction_id")] public required long TransactionId { get; init; }
    /// <summary>LSN of the source transaction's commit, as a number.</summary>
    [JsonPropertyName("commit_lsn")] public required long CommitLsn { get; init; }
    /// <summary>The table's columns after the change; empty for a drop.</summary>
    [JsonPropertyName("columns")] public required IReadOnlyList<TableColumnDto> Columns { get; init; }
    /// <summary>What the change did, one line per effect ("column email renamed to contact_email").</summary>
    [JsonPropertyName("effects")] public required IReadOnlyList<string> Effects { get; init; }

    /// <summary>The wire form of a schema change.</summary>
    public static SchemaChangeDto From(SchemaChange c) => new()
    {
        Id = c.Id, Source = c.Source, Database = c.Database,
        // The trail always knows the schema of a table it recorded; a bare name never reaches this far.
        Schema = c.Table.Schema ?? "", Table = c.Table.Name,
        CommandTag = c.CommandTag, Statement = c.Statement, StatementTruncated = c.StatementTruncated, Role = c.Role,
        Context = c.Context,
        CommittedAt = ApiTime.Format(c.CommittedAt), TransactionId = c.TransactionId, CommitLsn = c.CommitLsn,
        Columns = c.Columns.Select(TableColumnDto.From).ToList(), Effects = c.Effects,
    };
}
