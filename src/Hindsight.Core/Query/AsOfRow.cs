using System.Text.Json;
using System.Text.Json.Nodes;
using Hindsight.Model;

namespace Hindsight.Query;

/// <summary>One row as it was at the point asked for.</summary>
/// <remarks>
/// The image is kept as the store sent it (UTF-8 JSON text, <see cref="RowJson"/>) and parsed only when
/// <see cref="Row"/> is first read: a whole-table as-of returns 100,000s of rows, and most consumers only copy them out
/// (<c>as-of --format json</c>) or read a few columns (BENCHMARKS-log.md, "Query").
/// </remarks>
public sealed class AsOfRow
{
    private readonly byte[] _json;
    private JsonObject? _row;
    private IReadOnlyDictionary<string, UntrackedReason>? _untracked;

    /// <summary>A row whose image is already parsed.</summary>
    /// <param name="database">The tracked database.</param>
    /// <param name="schema">The table's schema.</param>
    /// <param name="table">The table.</param>
    /// <param name="primaryKey">The row's key as stored.</param>
    /// <param name="row">The row image.</param>
    /// <param name="changeId">The change that left the row in this state.</param>
    /// <param name="changedAt">When that change was committed.</param>
    public AsOfRow(string database, string schema, string table, string primaryKey, JsonObject row, long changeId, DateTimeOffset changedAt)
        : this(database, schema, table, primaryKey, JsonSerializer.SerializeToUtf8Bytes(row ?? throw new ArgumentNullException(nameof(row))), changeId, changedAt)
    {
        _row = row;
    }

    /// <summary>A row with its image as UTF-8 JSON text of an object (as the store returns it), parsed on first use.</summary>
    internal AsOfRow(string database, string schema, string table, string primaryKey, byte[] rowJson, long changeId, DateTimeOffset changedAt)
    {
        Database = database;
        Schema = schema;
        Table = table;
        PrimaryKey = primaryKey;
        _json = rowJson;
        ChangeId = changeId;
        ChangedAt = changedAt;
    }

    /// <summary>The tracked database.</summary>
    public string Database { get; }

    /// <summary>The source (a tracked database under its name in the store) the row's changes came from.</summary>
    public string Source { get; init; } = "";

    /// <summary>The table's schema.</summary>
    public string Schema { get; }

    /// <summary>The table.</summary>
    public string Table { get; }

    /// <summary>The row's key as stored.</summary>
    public string PrimaryKey { get; }

    /// <summary>
    /// The row image, as <c>to_jsonb()</c> of the row would have given it at that time. Parsed from <see cref="RowJson"/>
    /// on first read, then the same object on every read (changing it does not change <see cref="RowJson"/>).
    /// </summary>
    public JsonObject Row => _row ?? LazyInitializer.EnsureInitialized(ref _row, () => JsonNode.Parse(_json) as JsonObject ?? []);

    /// <summary>The row image as UTF-8 JSON text (an object), unparsed: copy it out without building a <see cref="JsonObject"/>.</summary>
    public ReadOnlyMemory<byte> RowJson => _json;

    /// <summary>
    /// The columns of this row whose values the image does not hold as data, with why: generated columns the server
    /// did not publish (absent from <see cref="Row"/>), and redacted columns (their value in <see cref="Row"/> is a
    /// <c>redacted:…</c> digest, not the row's value). Empty for a row whose every column is tracked. Found on first
    /// read, from the image and what the store knows of the table (<see cref="AsOfResult.UntrackedColumns"/>).
    /// </summary>
    public IReadOnlyDictionary<string, UntrackedReason> UntrackedColumns =>
        _untracked ?? LazyInitializer.EnsureInitialized(ref _untracked, () => ImageMarks.Scan(_json, GeneratedColumns));

    /// <summary>The table's generated columns the server does not publish, as the store recorded them.</summary>
    internal IReadOnlyCollection<string> GeneratedColumns { get; set; } = [];

    /// <summary>The change that left the row in this state.</summary>
    public long ChangeId { get; }

    /// <summary>The commit LSN and WAL position of that change: where it falls among the table's schema changes.</summary>
    internal (long CommitLsn, long Position) Place { get; init; }

    /// <summary>This row with another image (the same row under the columns of another schema version).</summary>
    internal AsOfRow WithImage(byte[] rowJson) =>
        new(Database, Schema, Table, PrimaryKey, rowJson, ChangeId, ChangedAt) { Source = Source, Place = Place };

    /// <summary>When that change was committed.</summary>
    public DateTimeOffset ChangedAt { get; }
}
