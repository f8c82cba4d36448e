using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Hindsight.Model;
using Hindsight.Query;

namespace Hindsight.Cli;

/// <summary>
/// As-of rows for the shell without a <see cref="System.Text.Json.Nodes.JsonObject"/> per row (100,000s of rows,
/// BENCHMARKS-log.md, "Query"): JSON copies the stored images through; table and CSV read each image in one forward pass.
/// </summary>
internal static class AsOfOutput
{
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private const int FlushAt = 1 << 20;

    /// <summary>A JSON array of the row images, one per line, as the store holds them (<c>to_jsonb()</c>'s text).</summary>
    public static async Task WriteJsonAsync(TextWriter output, IReadOnlyList<AsOfRow> rows, CancellationToken ct)
    {
        if (rows.Count == 0)
        {
            await output.WriteLineAsync("[]".AsMemory(), ct);
            return;
        }
        // Written in chunks: one string of every image would double the peak memory for nothing.
        var sb = new StringBuilder("[\n");
        var chars = ArrayPool<char>.Shared.Rent(4096);
        try
        {
            for (var i = 0; i < rows.Count; i++)
            {
                var json = rows[i].RowJson.Span;
                if (chars.Length < Encoding.UTF8.GetMaxCharCount(json.Length))
                {
                    ArrayPool<char>.Shared.Return(chars);
                    chars = ArrayPool<char>.Shared.Rent(Encoding.UTF8.GetMaxCharCount(json.Length));
                }
                var n = Encoding.UTF8.GetChars(json, chars);
                sb.Append("  ").Append(chars, 0, n).Append(i == rows.Count - 1 ? "\n]\n" : ",\n");
                if (sb.Length >= FlushAt)
                {
                    await output.WriteAsync(sb, ct);
                    sb.Clear();
                }
            }
        }
        finally { ArrayPool<char>.Shared.Return(chars); }
        await output.WriteAsync(sb, ct);
    }

    /// <summary>What a cell shows for a column whose value is not tracked: never a value that could pass for data.</summary>
    public static string Marker(UntrackedReason reason) => reason switch
    {
        UntrackedReason.Generated => "(not tracked: generated)",
        UntrackedReason.Redacted => "(redacted)",
        _ => "(not tracked)",
    };

    /// <summary>
    /// The column names (the images' keys, in the order first seen, then the table's untracked columns no image holds)
    /// and each row's values for people: strings without quotes, other values as compact JSON, <paramref name="jsonNull"/>
    /// for a JSON null, null where the image has no such column, and <see cref="Marker"/> for the row's untracked
    /// columns (<see cref="AsOfRow.UntrackedColumns"/>): a generated column it lacks, a redacted digest.
    /// </summary>
    public static (string[] Columns, List<string?[]> Rows) Cells(IReadOnlyList<AsOfRow> rows, string? jsonNull,
        IReadOnlyDictionary<string, UntrackedReason>? untracked = null)
    {
        var columns = new Dictionary<string, int>(StringComparer.Ordinal);
        var names = new List<string>();
        var values = new List<List<(int Column, string? Value)>>(rows.Count);
        foreach (var row in rows)
        {
            var fields = new List<(int, string?)>();
            var reader = new Utf8JsonReader(row.RowJson.Span);
            reader.Read(); // the image's StartObject
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                if (!columns.TryGetValue(name, out var index))
                {
                    columns.Add(name, index = names.Count);
                    names.Add(name);
                }
                reader.Read();
                fields.Add((index, Show(ref reader, jsonNull)));
            }
            values.Add(fields);
        }
        foreach (var name in (untracked ?? new Dictionary<string, UntrackedReason>()).Keys.Order(StringComparer.Ordinal))
            if (columns.TryAdd(name, names.Count)) names.Add(name);
        var result = new List<string?[]>(values.Count);
        for (var i = 0; i < values.Count; i++)
        {
            var cells = new string?[columns.Count];
            foreach (var (column, value) in values[i]) cells[column] = value;
            foreach (var (name, reason) in rows[i].UntrackedColumns)
                if (columns.TryGetValue(name, out var column)) cells[column] = Marker(reason);
            result.Add(cells);
        }
        return (names.ToArray(), result);
    }

    private static string? Show(ref Utf8JsonReader reader, string? jsonNull)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return reader.GetString();
            case JsonTokenType.Null:
                return jsonNull;
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                // Nested values (json/jsonb, arrays, composites) are rare: compact them as ChangeOutput.Show does.
                using (var doc = JsonDocument.ParseValue(ref reader))
                    return JsonSerializer.Serialize(doc.RootElement, Compact);
            default:
                return Encoding.UTF8.GetString(reader.ValueSpan); // a number as written, true or false
        }
    }
}
