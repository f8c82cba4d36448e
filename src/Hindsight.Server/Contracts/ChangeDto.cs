using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Hindsight.Model;
using Hindsight.Query;

namespace Hindsight.Server.Contracts;

/// <summary>One stored change. Its fields are the store's column names (docs/design.md, "The stored shape"), as <c>hindsight changes --format json</c> prints them.</summary>
internal sealed record ChangeDto
{
    /// <summary>Ordered identity in the store; the cursor of pages and of the live stream.</summary>
    [JsonPropertyName("id")] public required long Id { get; init; }
    /// <summary>The source the change was captured from (its name in the store).</summary>
    [JsonPropertyName("source")] public required string Source { get; init; }
    /// <summary>The tracked database, by name on its server.</summary>
    [JsonPropertyName("database")] public required string Database { get; init; }
    /// <summary>The table's schema.</summary>
    [JsonPropertyName("schema")] public required string Schema { get; init; }
    /// <summary>The table.</summary>
    [JsonPropertyName("table")] public required string Table { get; init; }
    /// <summary>The primary key as text; a composite key as a JSON array; null for TRUNCATE or a table without a key.</summary>
    [JsonPropertyName("primary_key")] public string? PrimaryKey { get; init; }
    /// <summary>CREATE, UPDATE, DELETE, TRUNCATE or SNAPSHOT.</summary>
    [JsonPropertyName("operation")] public required string Operation { get; init; }
    /// <summary>The row before, as <c>to_jsonb()</c> renders it; <c>{}</c> where none.</summary>
    [JsonPropertyName("before")] public required JsonObject Before { get; init; }
    /// <summary>The row after; <c>{}</c> where none.</summary>
    [JsonPropertyName("after")] public required JsonObject After { get; init; }
    /// <summary>The application context; <c>{}</c> where none.</summary>
    [JsonPropertyName("context")] public required JsonObject Context { get; init; }
    /// <summary>Commit time of the source transaction (UTC).</summary>
    [JsonPropertyName("committed_at")] public required string CommittedAt { get; init; }
    /// <summary>The source transaction id (xid).</summary>
    [JsonPropertyName("transaction_id")] public required long TransactionId { get; init; }
    /// <summary>LSN of the change's WAL record, as a number.</summary>
    [JsonPropertyName("position")] public required long Position { get; init; }
    /// <summary>LSN of the source transaction's commit, as a number.</summary>
    [JsonPropertyName("commit_lsn")] public required long CommitLsn { get; init; }
    /// <summary>1-based position of the change inside its transaction.</summary>
    [JsonPropertyName("ordinal")] public required int Ordinal { get; init; }
    /// <summary>When the capture worker read the change (UTC).</summary>
    [JsonPropertyName("queued_at")] public required string QueuedAt { get; init; }
    /// <summary>When the change was stored (UTC).</summary>
    [JsonPropertyName("created_at")] public required string CreatedAt { get; init; }

    /// <summary>The wire form of a stored change.</summary>
    public static ChangeDto From(Change c) => new()
    {
        Id = c.Id, Source = c.Source, Database = c.Database, Schema = c.Schema, Table = c.Table, PrimaryKey = c.PrimaryKey, Operation = c.Operation.ToStored(),
        Before = c.Before, After = c.After, Context = c.Context, CommittedAt = ApiTime.Format(c.CommittedAt), TransactionId = c.TransactionId,
        Position = c.Position, CommitLsn = c.CommitLsn, Ordinal = c.Ordinal, QueuedAt = ApiTime.Format(c.QueuedAt), CreatedAt = ApiTime.Format(c.CreatedAt),
    };
}
