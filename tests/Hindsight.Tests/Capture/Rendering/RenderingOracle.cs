using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Hindsight.Capture;
using Hindsight.Capture.Rendering;
using Npgsql;
using NpgsqlTypes;

using Xunit;

namespace Hindsight.Tests.Capture.Rendering;

/// <summary>
/// PostgreSQL as the oracle: reads every row of a table in text form (the output functions'
/// text, under <see cref="SourceSession"/>'s settings, as pgoutput sends it), renders it with
/// <see cref="PgValueRenderer"/> and asks PostgreSQL whether the result equals <c>to_jsonb()</c>
/// of the row, as jsonb. Returns one message per mismatching value: text form, rendered, expected.
/// </summary>
internal static class RenderingOracle
{
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A data source whose sessions use the replication session's settings.</summary>
    public static NpgsqlDataSource CreateDataSource(string connectionString) =>
        NpgsqlDataSource.Create(SourceSession.Apply(connectionString));

    public static async Task<(int Rows, List<string> Failures)> CompareTableAsync(
        NpgsqlDataSource dataSource, PgTypeCatalog catalog, string table, Func<int, string> describeRow)
    {
        await using var conn = await dataSource.OpenConnectionAsync();

        var columns = new List<(string Name, uint TypeOid)>();
        await using (var cmd = new NpgsqlCommand(
            "SELECT attname::text, atttypid FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum", conn))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = table });
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) columns.Add((reader.GetString(0), reader.GetFieldValue<uint>(1)));
        }
        Assert.Equal("id", columns[0].Name);
        await catalog.ResolveManyAsync(columns.Select(c => c.TypeOid));
        var types = columns.Select(c => catalog.Get(c.TypeOid)).ToArray();

        // The text form: AllResultTypesAreUnknown makes Npgsql ask for text results, i.e. the
        // types' output functions (not casts to text, which differ for bpchar, inet, bool …).
        var rows = new List<(int Id, string?[] Texts)>();
        await using (var cmd = new NpgsqlCommand($"SELECT * FROM {table} ORDER BY id", conn) { AllResultTypesAreUnknown = true })
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var texts = new string?[columns.Count];
                for (int i = 0; i < texts.Length; i++) texts[i] = reader.IsDBNull(i) ? null : reader.GetString(i);
                rows.Add((int.Parse(texts[0]!), texts));
            }
        }

        var rendered = new string[rows.Count];
        var renderErrors = new Dictionary<int, string>();
        for (int r = 0; r < rows.Count; r++)
        {
            try { rendered[r] = RenderRow(columns, types, rows[r].Texts); }
            catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException)
            {
                renderErrors[rows[r].Id] = e.Message;
                rendered[r] = "null";
            }
        }

        var bad = new List<int>();
        try
        {
            await using var cmd = new NpgsqlCommand(
                $"SELECT x.id FROM unnest($1::int[], $2::text[]) AS x(id, j) JOIN {table} AS oracle_row ON oracle_row.id = x.id " +
                "WHERE x.j::jsonb IS DISTINCT FROM to_jsonb(oracle_row) ORDER BY x.id", conn);
            cmd.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Id).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter { Value = rendered, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) bad.Add(reader.GetInt32(0));
        }
        catch (PostgresException)
        {
            // Some rendered row is not even valid JSON: check row by row.
            bad.Clear();
            for (int r = 0; r < rows.Count; r++)
                if (await CompareAsync(conn, table, rows[r].Id, rendered[r], null) is not null) bad.Add(rows[r].Id);
        }

        var failures = new List<string>();
        foreach (var id in bad)
        {
            var r = rows.FindIndex(x => x.Id == id);
            var texts = rows[r].Texts;
            if (renderErrors.TryGetValue(id, out var error))
            {
                failures.Add($"row {id} [{describeRow(id)}]: renderer threw: {error}");
                continue;
            }
            int before = failures.Count;
            for (int c = 1; c < columns.Count; c++)
            {
                if (texts[c] is null) continue;
                string value;
                try { value = RenderValue(types[c], texts[c]!); }
                catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException)
                {
                    failures.Add($"row {id} [{describeRow(id)}] column {columns[c].Name} ({types[c].Name}): text «{texts[c]}» → renderer threw {e.Message}");
                    continue;
                }
                var problem = await CompareAsync(conn, table, id, value, columns[c].Name);
                if (problem is not null)
                    failures.Add($"row {id} [{describeRow(id)}] column {columns[c].Name} ({types[c].Name}): text «{texts[c]}» → rendered {value} but {problem}");
            }
            if (failures.Count == before)
                failures.Add($"row {id} [{describeRow(id)}]: rendered {rendered[r]} differs from to_jsonb (no single column found)");
        }
        return (rows.Count, failures);
    }

    /// <summary>Null when equal; otherwise what to_jsonb gives (or the error).</summary>
    private static async Task<string?> CompareAsync(NpgsqlConnection conn, string table, int id, string json, string? column)
    {
        var expr = column is null ? "to_jsonb(oracle_row)" : "to_jsonb(oracle_row)->$3";
        await using var cmd = new NpgsqlCommand(
            $"SELECT $1::jsonb IS NOT DISTINCT FROM {expr}, ({expr})::text FROM {table} AS oracle_row WHERE oracle_row.id = $2", conn);
        cmd.Parameters.Add(new NpgsqlParameter { Value = json, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = id });
        if (column is not null) cmd.Parameters.Add(new NpgsqlParameter { Value = column });
        try
        {
            await using var reader = await cmd.ExecuteReaderAsync();
            await reader.ReadAsync();
            return reader.GetBoolean(0) ? null : $"to_jsonb gives {(reader.IsDBNull(1) ? "SQL NULL" : reader.GetString(1))}";
        }
        catch (PostgresException e)
        {
            return $"PostgreSQL rejects it: {e.MessageText}";
        }
    }

    public static string RenderRow(IReadOnlyList<(string Name, uint TypeOid)> columns, PgTypeInfo[] types, string?[] texts)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            for (int i = 0; i < columns.Count; i++)
            {
                writer.WritePropertyName(columns[i].Name);
                if (texts[i] is null) writer.WriteNullValue();
                else PgValueRenderer.WriteValue(writer, types[i], texts[i]!);
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static string RenderValue(PgTypeInfo type, string text)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            PgValueRenderer.WriteValue(writer, type, text);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
