using System.Text.Json;
using Hindsight.Model;

namespace Hindsight.Query;

/// <summary>
/// Finds the columns of a stored image that are not the row's data: generated columns the image lacks, and redacted
/// values (<c>redacted:</c> and 16 lowercase hex digits, the keyed digest capture writes instead of the value).
/// </summary>
internal static class ImageMarks
{
    private const string RedactedPrefix = ImagePlaceholders.RedactedPrefix;
    private const int DigestHexLength = 16;

    private static ReadOnlySpan<byte> QuotedPrefix => "\"redacted:"u8;

    private static readonly IReadOnlyDictionary<string, UntrackedReason> None = new Dictionary<string, UntrackedReason>();

    /// <summary>Whether a string value is a redaction digest.</summary>
    public static bool IsRedactedDigest(string value)
    {
        if (value.Length != RedactedPrefix.Length + DigestHexLength || !value.StartsWith(RedactedPrefix, StringComparison.Ordinal)) return false;
        for (var i = RedactedPrefix.Length; i < value.Length; i++)
            if (value[i] is not ((>= '0' and <= '9') or (>= 'a' and <= 'f'))) return false;
        return true;
    }

    /// <summary>Whether the image may hold a redacted value (a cheap byte search before any parsing).</summary>
    public static bool MayHoldRedacted(ReadOnlySpan<byte> json) => json.IndexOf(QuotedPrefix) >= 0;

    /// <summary>
    /// The untracked columns of one image (UTF-8 JSON text of an object): <paramref name="generated"/> columns it has no
    /// value for, and top-level values that are redaction digests. Ordered by name.
    /// </summary>
    public static IReadOnlyDictionary<string, UntrackedReason> Scan(ReadOnlySpan<byte> json, IReadOnlyCollection<string> generated)
    {
        var redacted = MayHoldRedacted(json);
        if (generated.Count == 0 && !redacted) return None;
        var present = new HashSet<string>(StringComparer.Ordinal);
        var marks = new SortedDictionary<string, UntrackedReason>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return None;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            present.Add(name);
            reader.Read();
            if (redacted && reader.TokenType == JsonTokenType.String && IsRedactedDigest(reader.GetString()!))
                marks[name] = UntrackedReason.Redacted;
            else reader.Skip();
        }
        foreach (var column in generated)
            if (!present.Contains(column)) marks[column] = UntrackedReason.Generated;
        return marks.Count == 0 ? None : new Dictionary<string, UntrackedReason>(marks);
    }
}
