using System.Globalization;
using System.Text.RegularExpressions;

namespace Hindsight.Query;

/// <summary>
/// Times as people give them to queries (the CLI's <c>--since</c>, <c>--at</c>, …; the HTTP API's <c>since</c>, <c>at</c>,
/// …): ISO 8601, a date or a date and time, with <c>Z</c> or an offset; without one the time is UTC.
/// </summary>
public static partial class IsoTime
{
    /// <summary>The most characters of a bad value an error message repeats.</summary>
    private const int Echoed = 64;

    /// <summary>Parses <paramref name="text"/> (surrounding white space ignored); null stays null.</summary>
    /// <param name="text">The time, e.g. <c>2025-01-31</c>, <c>2025-01-31T12:00:00Z</c> or <c>2025-01-31 12:00:00+02:00</c>.</param>
    /// <param name="name">The option or parameter the text came from: the error message starts with it.</param>
    /// <exception cref="FormatException">The text is not an ISO 8601 time.</exception>
    public static DateTimeOffset? Parse(string? text, string name)
    {
        if (text is null) return null;
        var t = text.Trim();
        if (Iso().IsMatch(t) &&
            DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value))
            return value;
        var shown = text.Length <= Echoed ? text : text[..Echoed] + "…";
        throw new FormatException(
            $"{name}: '{shown}' is not an ISO 8601 time (e.g. 2025-01-31, 2025-01-31T12:00:00Z, 2025-01-31 12:00:00+02:00)");
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?$", RegexOptions.IgnoreCase)]
    private static partial Regex Iso();
}
