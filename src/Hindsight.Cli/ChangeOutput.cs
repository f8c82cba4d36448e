using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hindsight.Model;
using Hindsight.Query;

namespace Hindsight.Cli;

/// <summary>Changes as a terminal table, a JSON array of store rows (docs/design.md, "CLI conventions"), or CSV of store rows.</summary>
internal static class ChangeOutput
{
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The store's column names, in the store's order: the fields of a change in JSON and CSV.</summary>
    public static readonly string[] StoreColumns =
    [
        "id", "database", "schema", "table", "primary_key", "operation", "before", "after", "context",
        "committed_at", "transaction_id", "position", "commit_lsn", "ordinal", "queued_at", "created_at", "source",
    ];

    /// <summary>A time as ISO 8601 in UTC, with microseconds (the store's precision).</summary>
    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static string Json(IEnumerable<Change> changes)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            foreach (var c in changes)
            {
                w.WriteStartObject();
                w.WriteNumber("id", c.Id);
                w.WriteString("source", c.Source);
                w.WriteString("database", c.Database);
                w.WriteString("schema", c.Schema);
                w.WriteString("table", c.Table);
                if (c.PrimaryKey is null) w.WriteNull("primary_key"); else w.WriteString("primary_key", c.PrimaryKey);
                w.WriteString("operation", c.Operation.ToStored());
                w.WritePropertyName("before"); c.Before.WriteTo(w);
                w.WritePropertyName("after"); c.After.WriteTo(w);
                w.WritePropertyName("context"); c.Context.WriteTo(w);
                w.WriteString("committed_at", Time(c.CommittedAt));
                w.WriteNumber("transaction_id", c.TransactionId);
                w.WriteNumber("position", c.Position);
                w.WriteNumber("commit_lsn", c.CommitLsn);
                w.WriteNumber("ordinal", c.Ordinal);
                w.WriteString("queued_at", Time(c.QueuedAt));
                w.WriteString("created_at", Time(c.CreatedAt));
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }

    public static string CsvText(IEnumerable<Change> changes)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder(Csv.Line(StoreColumns));
        foreach (var c in changes)
            sb.Append(Csv.Line(
            [
                c.Id.ToString(inv), c.Database, c.Schema, c.Table, c.PrimaryKey, c.Operation.ToStored(),
                c.Before.ToJsonString(Compact), c.After.ToJsonString(Compact), c.Context.ToJsonString(Compact),
                Time(c.CommittedAt), c.TransactionId.ToString(inv), c.Position.ToString(inv), c.CommitLsn.ToString(inv),
                c.Ordinal.ToString(inv), Time(c.QueuedAt), Time(c.CreatedAt), c.Source,
            ]));
        return sb.ToString();
    }

    /// <summary>
    /// The terminal view: one line per change, long cells cut; with a source column when the rows come from more than one.
    /// Schema changes of the same tables, when given, are lines of their own (operation SCHEMA) where they fall in time
    /// among the changes, which come in the order given (<paramref name="newestFirst"/> says which).
    /// </summary>
    public static string Table(IEnumerable<(Change Change, IReadOnlyList<ColumnChange> Diff)> rows,
        IReadOnlyList<SchemaChange>? schemaChanges = null, bool newestFirst = true)
    {
        var list = rows.ToList();
        var sources = list.Select(r => r.Change.Source).Concat(schemaChanges?.Select(s => s.Source) ?? []).Distinct().Count() > 1;
        string[] header = sources
            ? ["id", "committed_at (UTC)", "source", "table", "key", "operation", "change", "context"]
            : ["id", "committed_at (UTC)", "table", "key", "operation", "change", "context"];
        var cells = list.Select(r => new[]
        {
            r.Change.Id.ToString(CultureInfo.InvariantCulture),
            r.Change.CommittedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture),
            TextTable.Cell(r.Change.Source, 24),
            TextTable.Cell(r.Change.Schema == "public" ? r.Change.Table : r.Change.Schema + "." + r.Change.Table, 32),
            TextTable.Cell(r.Change.PrimaryKey ?? "-", 24),
            r.Change.Operation.ToStored(),
            TextTable.Cell(Summary(r.Change.Operation, r.Diff), 60),
            TextTable.Cell(r.Change.Context.Count == 0 ? "-" : r.Change.Context.ToJsonString(Compact), 48),
        }).ToList();
        if (schemaChanges is { Count: > 0 }) cells = Interleave(list.Select(r => r.Change).ToList(), cells, schemaChanges, newestFirst);
        return TextTable.Aligned(header, cells.Select(c => sources ? c : [c[0], c[1], .. c[3..]]).ToList());
    }

    /// <summary>The change lines with a line for each schema change put where it falls in commit order.</summary>
    private static List<string[]> Interleave(List<Change> changes, List<string[]> cells, IReadOnlyList<SchemaChange> schemaChanges, bool newestFirst)
    {
        static int Compare(DateTimeOffset at, long lsn, Change c) => at != c.CommittedAt ? at.CompareTo(c.CommittedAt) : lsn.CompareTo(c.CommitLsn);
        var result = new List<string[]>(cells.Count + schemaChanges.Count);
        var pending = (newestFirst ? schemaChanges.OrderByDescending(s => s.CommittedAt).ThenByDescending(s => s.CommitLsn)
                                   : schemaChanges.OrderBy(s => s.CommittedAt).ThenBy(s => s.CommitLsn)).ToList();
        var next = 0;
        for (var i = 0; i < changes.Count; i++)
        {
            // A schema change goes before the first change it precedes (oldest first) or follows (newest first). One in the
            // same transaction as row changes is listed after them (oldest first), whichever came first in it.
            while (next < pending.Count && (newestFirst
                       ? Compare(pending[next].CommittedAt, pending[next].CommitLsn, changes[i]) > 0
                       : Compare(pending[next].CommittedAt, pending[next].CommitLsn, changes[i]) < 0))
                result.Add(SchemaLine(pending[next++]));
            result.Add(cells[i]);
        }
        while (next < pending.Count) result.Add(SchemaLine(pending[next++]));
        return result;
    }

    private static string[] SchemaLine(SchemaChange s) =>
    [
        "-",
        s.CommittedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture),
        TextTable.Cell(s.Source, 24),
        TextTable.Cell(s.Table.Schema == "public" ? s.Table.Name : s.Table.ToString(), 32),
        "-",
        "SCHEMA",
        TextTable.Cell(SchemaChangeOutput.Effects(s), 60),
        TextTable.Cell(SchemaChangeOutput.By(s), 48),
    ];

    /// <summary>What a change did, in a few words.</summary>
    public static string Summary(Operation operation, IReadOnlyList<ColumnChange> diff)
    {
        if (operation == Operation.Truncate && diff.Count == 0) return "all rows removed";
        // A json(b) column changed inside shows the keys that changed (details.invoice: (none) → INV-1), not two whole documents.
        var parts = diff.SelectMany(d => operation == Operation.Update && d.Leaves() is { Count: > 0 } leaves && !ReferenceEquals(leaves[0], d)
            ? leaves.Select(leaf => $"{leaf.Column}: {(leaf.Kind == ColumnChangeKind.Added ? "(none)" : Show(leaf.OldValue))} → " +
                                    (leaf.Kind == ColumnChangeKind.Removed ? "(none)" : Show(leaf.NewValue)))
            : [Part(operation, d)]);
        var text = string.Join(operation == Operation.Update ? "; " : ", ", parts);
        return operation switch
        {
            Operation.Delete => "removed: " + text,
            Operation.Truncate => "removed by TRUNCATE: " + text,
            Operation.Update when diff.Count == 0 => "(no column changed)",
            _ => text,
        };
    }

    private static string Part(Operation operation, ColumnChange d) => d.Kind switch
    {
        ColumnChangeKind.Added => operation is Operation.Create or Operation.Snapshot ? $"{d.Column}={Show(d.NewValue)}" : $"+{d.Column}={Show(d.NewValue)}",
        ColumnChangeKind.Removed => operation is Operation.Delete or Operation.Truncate ? $"{d.Column}={Show(d.OldValue)}" : $"-{d.Column}",
        _ => $"{d.Column}: {Show(d.OldValue)} → {Show(d.NewValue)}",
    };

    /// <summary>A JSON value for people: strings without quotes, SQL NULL as null.</summary>
    public static string Show(JsonNode? v) => v switch
    {
        null => "null",
        JsonValue s when s.GetValueKind() == JsonValueKind.String => s.GetValue<string>(),
        _ => v.ToJsonString(Compact),
    };
}
