using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Hindsight.Capture;
using Hindsight.Capture.Rendering;
using Hindsight.Model;

namespace Hindsight.Stitch;

/// <summary>
/// Renders a decoded tuple into the JSON image stored in <c>before</c>/<c>after</c>, exactly as
/// <c>to_jsonb()</c> renders the row, after applying the column rules; and renders the primary key.
/// One instance per stitcher: it reuses its buffer.
/// </summary>
internal sealed class RowImageWriter
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly Utf8JsonWriter _writer;
    private readonly ArrayBufferWriter<byte> _scratch = new(256);
    private readonly Utf8JsonWriter _scratchWriter;
    private bool _safe;
    private readonly byte[] _redactionKey;

    /// <summary>Creates a writer; <paramref name="redactionKey"/> keys the digests of redacted values.</summary>
    public RowImageWriter(byte[] redactionKey)
    {
        _redactionKey = redactionKey;
        _writer = new Utf8JsonWriter(_buffer, WriterOptions);
        _scratchWriter = new Utf8JsonWriter(_scratch, WriterOptions);
    }

    /// <summary>Renders a tuple as a JSON object (UTF-8).</summary>
    /// <param name="relation">The table.</param>
    /// <param name="values">The tuple.</param>
    /// <param name="actions">Column rules for the table, or null for none.</param>
    /// <param name="presentOnly">Only these columns carry data (a key tuple); others are left out.</param>
    /// <param name="toastSource">Where an unchanged TOAST value comes from: the old tuple first …</param>
    /// <param name="fallbackImage">… then the last stored image of the row.</param>
    public byte[] Render(RelationInfo relation, ColumnValue[] values, ColumnAction[]? actions,
        bool[]? presentOnly = null, ColumnValue[]? toastSource = null, JsonElement? fallbackImage = null)
    {
        try
        {
            _safe = false;
            return RenderCore(relation, values, actions, presentOnly, toastSource, fallbackImage);
        }
        catch (PgValueFormatException)
        {
            // Rare: render the row again, value by value, storing what does not parse as its text.
            _safe = true;
            return RenderCore(relation, values, actions, presentOnly, toastSource, fallbackImage);
        }
    }

    private byte[] RenderCore(RelationInfo relation, ColumnValue[] values, ColumnAction[]? actions,
        bool[]? presentOnly, ColumnValue[]? toastSource, JsonElement? fallbackImage)
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        _writer.WriteStartObject();
        for (var i = 0; i < values.Length; i++)
        {
            if (presentOnly is not null && !presentOnly[i]) continue;
            var action = actions?[i] ?? ColumnAction.Keep;
            if (action == ColumnAction.Ignore) continue;
            var column = relation.Columns[i];
            _writer.WritePropertyName(column.Name);
            var value = values[i];
            if (value.Kind == ColumnValueKind.UnchangedToast && toastSource is not null && toastSource[i].Kind != ColumnValueKind.UnchangedToast)
                value = toastSource[i];
            switch (value.Kind)
            {
                case ColumnValueKind.Null:
                    _writer.WriteNullValue();
                    break;
                case ColumnValueKind.Text when action == ColumnAction.Redact:
                    _writer.WriteStringValue(Redact(value.Text!));
                    break;
                case ColumnValueKind.Text:
                    WriteValue(column.Type, value.Text!);
                    break;
                default: // unchanged TOAST value: the last stored image holds it, already rendered (and redacted)
                    if (fallbackImage is { ValueKind: JsonValueKind.Object } image && image.TryGetProperty(column.Name, out var stored))
                        stored.WriteTo(_writer);
                    else
                        _writer.WriteRawValue(ImagePlaceholders.UnknownToast, skipInputValidation: true);
                    break;
            }
        }
        _writer.WriteEndObject();
        _writer.Flush();
        return _buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The primary key as stored: the text form for a one-column key, a JSON array of the rendered
    /// values for a composite key, null when the table has no primary key.
    /// </summary>
    public string? PrimaryKey(RelationInfo relation, ColumnValue[] values, ColumnValue[]? toastSource = null)
    {
        _safe = true; // keys are short: always take the careful path
        var key = relation.PrimaryKey;
        if (key.Length == 0) return null;
        ColumnValue Value(int i) =>
            values[i].Kind == ColumnValueKind.UnchangedToast && toastSource is not null ? toastSource[i] : values[i];
        if (key.Length == 1)
            return Value(key[0]).Text;

        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        _writer.WriteStartArray();
        foreach (var i in key)
        {
            var v = Value(i);
            if (v.Kind == ColumnValueKind.Text) WriteValue(relation.Columns[i].Type, v.Text!);
            else _writer.WriteNullValue();
        }
        _writer.WriteEndArray();
        _writer.Flush();
        return Encoding.UTF8.GetString(_buffer.WrittenSpan);
    }

    /// <summary>Values whose text did not parse as their type and were stored as plain strings instead.</summary>
    public long RenderFallbacks { get; private set; }

    private void WriteValue(PgTypeInfo type, string text)
    {
        if (!_safe)
        {
            PgValueRenderer.WriteValue(_writer, type, text);
            return;
        }
        // Renders into a scratch writer first: a value that does not parse as its type (a type changed
        // under us, a format we do not know) must not stop capture, so it is stored as its text instead.
        try
        {
            _scratch.ResetWrittenCount();
            _scratchWriter.Reset(_scratch);
            PgValueRenderer.WriteValue(_scratchWriter, type, text);
            _scratchWriter.Flush();
            _writer.WriteRawValue(_scratch.WrittenSpan, skipInputValidation: true);
        }
        catch (PgValueFormatException)
        {
            RenderFallbacks++;
            _writer.WriteStringValue(text);
        }
    }

    /// <summary>A keyed digest of a value: equal values give equal digests, and the value cannot be read back.</summary>
    public string Redact(string text)
    {
        Span<byte> hash = stackalloc byte[32];
        HMACSHA256.HashData(_redactionKey, Encoding.UTF8.GetBytes(text), hash);
        return ImagePlaceholders.RedactedPrefix + Convert.ToHexStringLower(hash[..8]);
    }
}
