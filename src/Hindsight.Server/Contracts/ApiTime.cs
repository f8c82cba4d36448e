using System.Globalization;

namespace Hindsight.Server.Contracts;

/// <summary>Times on the wire: ISO 8601 in UTC with microseconds (the store's precision), as the CLI prints them.</summary>
internal static class ApiTime
{
    public static string Format(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static string? Format(DateTimeOffset? t) => t is { } v ? Format(v) : null;
}
