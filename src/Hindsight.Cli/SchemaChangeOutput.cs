using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Hindsight.Query;

namespace Hindsight.Cli;

/// <summary>Schema changes as a terminal table, a JSON array, or CSV; and as lines among a table of row changes.</summary>
internal static class SchemaChangeOutput
{
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The fields of a schema change in JSON and CSV.</summary>
    public static readonly string[] Fields =
    [
        "id", "source", "database", "schema", "table", "command_tag", "effects", "statement", "statement_truncated", "role",
        "context", "committed_at", "transaction_id", "commit_lsn", "columns",
    ];

    /// <summary>Who made a change, for people (<see cref="SchemaChange.MadeBy"/>), or <c>-</c>.</summary>
    public static string By(SchemaChange s) => s.MadeBy ?? "-";

    /// <summary>The effects on one line.</summary>
    public static string Effects(SchemaChange s) => string.Join("; ", s.Effects);

    public static string Table(IReadOnlyList<SchemaChange> changes)
    {
        var sources = changes.Select(c => c.Source).Distinct().Count() > 1;
        string[] header = sources
            ? ["id", "committed_at (UTC)", "source", "table", "command", "effect", "by", "statement"]
            : ["id", "committed_at (UTC)", "table", "command", "effect", "by", "statement"];
        var cells = changes.Select(c => new[]
        {
            c.Id.ToString(CultureInfo.InvariantCulture),
            c.CommittedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture),
            TextTable.Cell(c.Source, 24),
            TextTable.Cell(c.Table.Schema == "public" ? c.Table.Name : c.Table.ToString(), 32),
            c.CommandTag,
            TextTable.Cell(Effects(c), 60),
            TextTable.Cell(By(c), 40),
            TextTable.Cell(c.Statement ?? "-", 60),
        }).Select(c => sources ? c : [c[0], c[1], .. c[3..]]).ToList();
        return TextTable.Aligned(header, cells);
    }

    public static string Json(IEnumerable<SchemaChange> changes)
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
                w.WriteString("schema", c.Table.Schema);
                w.WriteString("table", c.Table.Name);
                w.WriteString("command_tag", c.CommandTag);
                w.WriteStartArray("effects");
                foreach (var e in c.Effects) w.WriteStringValue(e);
                w.WriteEndArray();
                if (c.Statement is null) w.WriteNull("statement"); else w.WriteString("statement", c.Statement);
                w.WriteBoolean("statement_truncated", c.StatementTruncated);
                if (c.Role is null) w.WriteNull("role"); else w.WriteString("role", c.Role);
                w.WritePropertyName("context"); c.Context.WriteTo(w);
                w.WriteString("committed_at", ChangeOutput.Time(c.CommittedAt));
                w.WriteNumber("transaction_id", c.TransactionId);
                w.WriteNumber("commit_lsn", c.CommitLsn);
                w.WritePropertyName("columns");
                JsonSerializer.Serialize(w, c.Columns.Select(Column).ToList());
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }

    public static string CsvText(IEnumerable<SchemaChange> changes)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder(Csv.Line(Fields));
        foreach (var c in changes)
            sb.Append(Csv.Line(
            [
                c.Id.ToString(inv), c.Source, c.Database, c.Table.Schema, c.Table.Name, c.CommandTag, Effects(c), c.Statement,
                c.StatementTruncated ? "true" : "false", c.Role, c.Context.ToJsonString(Compact), ChangeOutput.Time(c.CommittedAt),
                c.TransactionId.ToString(inv), c.CommitLsn.ToString(inv), JsonSerializer.Serialize(c.Columns.Select(Column).ToList(), Compact),
            ]));
        return sb.ToString();
    }

    private static Dictionary<string, object?> Column(TableColumn c) => new()
    {
        ["number"] = c.Number, ["name"] = c.Name, ["type"] = c.Type, ["not_null"] = c.NotNull, ["default"] = c.Default, ["generated"] = c.Generated,
    };
}
