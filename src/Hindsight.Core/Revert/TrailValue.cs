using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hindsight.Query;
using Hindsight.Model;

namespace Hindsight.Revert;

/// <summary>
/// Which values of a stored image are the row's real values, and which only stand for a value the trail does not hold:
/// a redacted column's digest (<c>redacted:</c> and 16 lowercase hex digits, see <see cref="ImagePlaceholders.RedactedPrefix"/>),
/// and the marker of an unchanged TOAST value no earlier image could supply (<see cref="ImagePlaceholders.UnknownToast"/>).
/// A revert or rollback never writes such a value back, and never compares it with the source.
/// </summary>
/// <remarks>
/// Recognised by shape alone, because the store holds only the digest and the images do not say which columns were
/// redacted (the rules may also have changed since). A real value of exactly that shape (a text column holding
/// <c>redacted:0123456789abcdef</c>, a jsonb column holding the marker object) is then treated as not held: it is left
/// unrestored and unchecked, which is the safe direction — never a value written that the trail does not hold.
/// Columns absent from an image (ignored by the column rules, generated, or added since) are simply not there.
/// </remarks>
internal static partial class TrailValue
{
    private static readonly JsonNode Marker = JsonNode.Parse(ImagePlaceholders.UnknownToast)!;

    [GeneratedRegex("^redacted:[0-9a-f]{16}$", RegexOptions.CultureInvariant)]
    private static partial Regex RedactedDigest();

    /// <summary>Whether <paramref name="value"/> is a redacted column's digest rather than its value.</summary>
    public static bool IsRedacted(JsonNode? value) =>
        value is JsonValue v && v.TryGetValue<string>(out var s) && RedactedDigest().IsMatch(s);

    /// <summary>Whether <paramref name="value"/> is the marker of an unchanged TOAST value the trail never saw.</summary>
    public static bool IsUnknownToast(JsonNode? value) => value is JsonObject && JsonEquality.JsonbEquals(value, Marker);

    /// <summary>Why the trail does not hold the value <paramref name="value"/> stands for, or null when it is the value itself.</summary>
    public static string? NotHeld(JsonNode? value) =>
        IsRedacted(value) ? "redacted (the trail holds only a digest of it)"
        : IsUnknownToast(value) ? "an unchanged TOAST value the trail never saw (only a placeholder is stored)"
        : null;

    /// <summary>The columns of <paramref name="image"/> whose values the trail does not hold, with why.</summary>
    public static IEnumerable<(string Column, string Why)> NotHeldColumns(JsonObject image)
    {
        foreach (var (column, value) in image)
            if (NotHeld(value) is { } why) yield return (column, why);
    }

    /// <summary>A copy of <paramref name="image"/> with only the values the trail holds (digests and placeholders left out).</summary>
    public static JsonObject Held(JsonObject image)
    {
        var held = new JsonObject();
        foreach (var (column, value) in image)
            if (NotHeld(value) is null) held[column] = value?.DeepClone();
        return held;
    }

    /// <summary><see cref="Held(JsonObject)"/> of an image given as JSON text, as JSON text (unchanged when it holds everything).</summary>
    public static string Held(string image)
    {
        if (JsonNode.Parse(image) is not JsonObject o) return image;
        return NotHeldColumns(o).Any() ? Held(o).ToJsonString() : image;
    }
}
