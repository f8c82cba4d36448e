namespace Hindsight.Cli;

/// <summary>RFC 4180 CSV lines.</summary>
internal static class Csv
{
    public static string Line(IEnumerable<string?> fields) =>
        string.Join(',', fields.Select(Field)) + "\n";

    private static string Field(string? f)
    {
        if (f is null) return "";
        return f.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + f.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : f;
    }
}
