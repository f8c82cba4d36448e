using System.Globalization;
using System.Text.RegularExpressions;

namespace Hindsight.Server.Auth;

/// <summary>
/// One configured API key as it is kept at rest: a name, a scope and the SHA-256 of the key. The configuration line is
/// <c>name:scope:sha256:HEX</c> (e.g. <c>ops:admin:sha256:9f86…</c>), what <c>hindsight serve --generate-key</c> prints.
/// </summary>
/// <param name="Name">Identifies the key in logs and in the context of reverts it makes; never secret.</param>
/// <param name="Scope">What the key may do.</param>
/// <param name="Sha256">The SHA-256 of the key's UTF-8 bytes (32 bytes).</param>
public sealed partial record ApiKeyEntry(string Name, ApiKeyScope Scope, byte[] Sha256)
{
    /// <summary>Parses a configuration line <c>name:scope:sha256:HEX</c>.</summary>
    /// <exception cref="FormatException">The line is not in that form (the message never repeats the hash).</exception>
    public static ApiKeyEntry Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var parts = line.Trim().Split(':');
        if (parts.Length != 4 || !string.Equals(parts[2], "sha256", StringComparison.OrdinalIgnoreCase))
            throw new FormatException("an API key entry is name:scope:sha256:HEX (as hindsight serve --generate-key prints it)");
        var name = parts[0];
        if (!ValidName().IsMatch(name))
            throw new FormatException($"API key name '{name}' must be 1 to 64 letters, digits, '.', '_' or '-'");
        var scope = parts[1].ToLowerInvariant() switch
        {
            "read" => ApiKeyScope.Read,
            "admin" => ApiKeyScope.Admin,
            _ => throw new FormatException($"API key '{name}': unknown scope '{parts[1]}' (use read or admin)"),
        };
        byte[] hash;
        try { hash = Convert.FromHexString(parts[3]); }
        catch (FormatException) { throw new FormatException($"API key '{name}': the hash is not hexadecimal"); }
        if (hash.Length != 32) throw new FormatException($"API key '{name}': a SHA-256 hash is 64 hexadecimal digits");
        return new ApiKeyEntry(name, scope, hash);
    }

    /// <summary>
    /// Parses many entries: one per line, or separated by ';' or ','; blank lines and lines starting with '#' are skipped
    /// (the form of <c>HINDSIGHT_API_KEYS</c> and of a keys file).
    /// </summary>
    /// <exception cref="FormatException">An entry is not in the form <c>name:scope:sha256:HEX</c>.</exception>
    public static IReadOnlyList<ApiKeyEntry> ParseMany(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .SelectMany(l => l.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(Parse)
            .ToList();
    }

    /// <summary>Whether <paramref name="name"/> can name a key.</summary>
    public static bool IsValidName(string name) => ValidName().IsMatch(name);

    /// <summary>The configuration line: <c>name:scope:sha256:hex</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Name}:{Scope.ToString().ToLowerInvariant()}:sha256:{Convert.ToHexStringLower(Sha256)}");

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex ValidName();
}
