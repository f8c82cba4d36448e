using System.Globalization;
using System.Text;
using Npgsql;

namespace Hindsight.Configuration;

// Redaction: connection strings as they may be printed, without their secrets.
public static partial class ConnectionStrings
{
    /// <summary>What is printed in place of a connection string that cannot be parsed: never the input itself.</summary>
    private const string Unreadable = "(invalid connection string)";

    /// <summary>
    /// A form of <paramref name="connectionString"/> that is safe to print: parsed and rewritten
    /// in Npgsql form with the password (and SSL key password) removed. Input that cannot be
    /// parsed is not echoed at all.
    /// </summary>
    public static string Redact(string? connectionString) => Show(connectionString, builder =>
    {
        builder.Password = null;
        builder.SslPassword = null;
        return builder.ConnectionString;
    });

    /// <summary>
    /// A short, password-free description of where a connection string points:
    /// <c>user@host:port/database</c>.
    /// </summary>
    public static string Describe(string? connectionString) => Show(connectionString, b =>
    {
        var sb = new StringBuilder();
        if (!string.IsNullOrEmpty(b.Username)) sb.Append(b.Username).Append('@');
        sb.Append(string.IsNullOrEmpty(b.Host) ? "localhost" : b.Host);
        if (b.Host is null || !b.Host.Contains(','))
            sb.Append(':').Append(b.Port.ToString(CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(b.Database)) sb.Append('/').Append(b.Database);
        return sb.ToString();
    });

    /// <summary>
    /// Replaces every occurrence of the passwords found in <paramref name="connectionStrings"/>
    /// in <paramref name="text"/> by <c>***</c>: a last guard for messages that are printed.
    /// </summary>
    public static string Scrub(string text, params string?[] connectionStrings)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var cs in connectionStrings)
        {
            if (string.IsNullOrWhiteSpace(cs)) continue;
            if (TryParse(cs) is { } b)
                foreach (var secret in new[] { b.Password, b.SslPassword })
                    if (!string.IsNullOrEmpty(secret) && secret.Length >= 3)
                        text = text.Replace(secret, "***", StringComparison.Ordinal);
            if (cs.Length >= 8) text = text.Replace(cs, "(connection string)", StringComparison.Ordinal);
        }
        return text;
    }

    /// <summary>What <paramref name="show"/> makes of the parsed connection string: "" for none, a placeholder for one that cannot be parsed.</summary>
    private static string Show(string? connectionString, Func<NpgsqlConnectionStringBuilder, string> show) =>
        string.IsNullOrWhiteSpace(connectionString) ? "" : TryParse(connectionString) is { } builder ? show(builder) : Unreadable;

    /// <summary>The parsed connection string; null when it cannot be parsed (nothing is learnt from it).</summary>
    private static NpgsqlConnectionStringBuilder? TryParse(string connectionString)
    {
        try { return Parse(connectionString); }
        catch (ConnectionStringException) { return null; }
    }
}
