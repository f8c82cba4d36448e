using System.Globalization;
using Hindsight.Model;
using Hindsight.Postgres;
using Hindsight.Query;

namespace Hindsight.Server.Http;

/// <summary>Reads query-string and body values; every failure is an <see cref="ApiInputException"/> that names the parameter.</summary>
internal static class QueryInput
{
    /// <summary>A required ISO 8601 time (<see cref="IsoTime"/>).</summary>
    public static DateTimeOffset RequiredTime(string? text, string name) =>
        IsoTime.Parse(Required(text, name), name)!.Value;

    public static string Required(string? text, string name) =>
        string.IsNullOrWhiteSpace(text) ? throw new ApiInputException($"{name} is required") : text;

    public static long? Long(string? text, string name)
    {
        if (text is null) return null;
        return long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new ApiInputException($"{name}: '{Shorten(text)}' is not a whole number");
    }

    /// <summary>A page size: 1 to <paramref name="max"/>, <paramref name="fallback"/> when absent.</summary>
    public static int Limit(string? text, int max, int fallback)
    {
        if (text is null) return Math.Min(fallback, max);
        if (!int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) || v < 1 || v > max)
            throw new ApiInputException($"limit: '{Shorten(text)}' is not a whole number between 1 and {max}");
        return v;
    }

    /// <summary><c>newest</c> (default) or <c>oldest</c> first.</summary>
    public static bool OldestFirst(string? text, bool fallback = false) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" => fallback,
        "newest" or "desc" => false,
        "oldest" or "asc" => true,
        _ => throw new ApiInputException($"order: '{Shorten(text)}' is not newest or oldest"),
    };

    /// <summary><c>true</c> or <c>false</c> (any case), <paramref name="fallback"/> when absent.</summary>
    public static bool Flag(string? text, string name, bool fallback = false) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" => fallback,
        "true" => true,
        "false" => false,
        _ => throw new ApiInputException($"{name}: '{Shorten(text)}' is not true or false"),
    };

    public static TableName Table(string? text, string name = "table") => TableName.Parse(Required(text, name));

    /// <summary>Tables given repeated (<c>table=a&amp;table=b</c>) or comma-separated outside double quotes.</summary>
    public static List<TableName> Tables(IEnumerable<string?>? values) => NameList.Split(values).Select(TableName.Parse).ToList();

    /// <summary>Operations given repeated or comma-separated.</summary>
    public static List<Operation> Operations(IEnumerable<string?>? values) => NameList.Split(values).Select(OperationParser.Parse).ToList();

    /// <summary>Echoes at most a short piece of hostile input back in a message.</summary>
    private static string Shorten(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
