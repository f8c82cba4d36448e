using System.Globalization;
using System.Text;
using Npgsql;

namespace Hindsight.Configuration;

/// <summary>
/// Turns the connection strings users give (<c>--source</c>, <c>--store</c>,
/// <c>HINDSIGHT_SOURCE</c>, <c>HINDSIGHT_STORE</c>) into Npgsql connection strings, and
/// renders them for display without their secrets.
/// </summary>
/// <remarks>
/// Accepted forms:
/// <list type="bullet">
/// <item>libpq URL: <c>postgresql://user:pass@host:5432/db?sslmode=require</c> (also <c>postgres://</c>,
/// several hosts, <c>[::1]</c>, percent-encoding);</item>
/// <item>libpq key=value: <c>host=localhost port=5432 dbname=db user=u password='p w'</c>;</item>
/// <item>Npgsql: <c>Host=localhost;Port=5432;Database=db;Username=u;Password=p</c>.</item>
/// </list>
/// Error messages never repeat a value from the input, only option names.
/// </remarks>
public static partial class ConnectionStrings
{
    /// <summary>libpq keywords and the Npgsql keywords they map to (null: handled specially).</summary>
    private static readonly Dictionary<string, string?> LibpqKeywords = new(StringComparer.Ordinal)
    {
        ["host"] = null,
        ["hostaddr"] = null,
        ["port"] = null,
        ["dbname"] = "Database",
        ["user"] = "Username",
        ["password"] = "Password",
        ["passfile"] = "Passfile",
        ["application_name"] = "Application Name",
        ["fallback_application_name"] = null,
        ["connect_timeout"] = "Timeout",
        ["options"] = "Options",
        ["client_encoding"] = "Client Encoding",
        ["sslmode"] = null,
        ["ssl"] = null,
        ["sslcert"] = "SSL Certificate",
        ["sslkey"] = "SSL Key",
        ["sslpassword"] = "SSL Password",
        ["sslrootcert"] = "Root Certificate",
        ["sslnegotiation"] = null,
        ["sslcompression"] = null,
        ["sslcrl"] = null,
        ["sslcrldir"] = null,
        ["sslsni"] = null,
        ["ssl_min_protocol_version"] = null,
        ["ssl_max_protocol_version"] = null,
        ["gssencmode"] = null,
        ["channel_binding"] = null,
        ["require_auth"] = "Require Auth",
        ["krbsrvname"] = "Kerberos Service Name",
        ["target_session_attrs"] = "Target Session Attributes",
        ["load_balance_hosts"] = null,
        ["keepalives"] = null,
        ["keepalives_idle"] = "Tcp Keepalive Time",
        ["keepalives_interval"] = "Tcp Keepalive Interval",
        ["keepalives_count"] = null,
        ["tcp_user_timeout"] = null,
        ["replication"] = null,
        ["service"] = null,
        ["gsslib"] = null,
        ["requirepeer"] = null,
    };

    /// <summary>libpq options that have no Npgsql counterpart and only tune the transport: accepted and ignored.</summary>
    private static readonly HashSet<string> IgnoredLibpqKeywords = new(StringComparer.Ordinal)
    {
        "fallback_application_name", "sslcompression", "sslsni", "keepalives_count", "tcp_user_timeout",
        "ssl_min_protocol_version", "ssl_max_protocol_version", "gsslib",
    };

    private const string FormHelp =
        "expected a postgresql:// URL or key=value pairs (libpq \"host=... dbname=... user=...\" or Npgsql \"Host=...;Database=...;Username=...\")";

    /// <summary>
    /// Converts a connection string in any accepted form into an Npgsql connection string.
    /// </summary>
    /// <param name="connectionString">A libpq URL, libpq key=value pairs or an Npgsql connection string.</param>
    /// <returns>The equivalent Npgsql connection string.</returns>
    /// <exception cref="ConnectionStringException">The input is not a connection string in any accepted form.</exception>
    public static string ToNpgsql(string connectionString) => Parse(connectionString).ConnectionString;

    /// <summary>Like <see cref="ToNpgsql"/> for an optional connection string (the <c>--store</c>): null stays null.</summary>
    /// <exception cref="ConnectionStringException">The input is not a connection string in any accepted form.</exception>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(connectionString))]
    public static string? ToNpgsqlOptional(string? connectionString) => connectionString is null ? null : ToNpgsql(connectionString);

    /// <summary>Like <see cref="ToNpgsql"/>, but returns a builder for further changes.</summary>
    /// <exception cref="ConnectionStringException">The input is not a connection string in any accepted form.</exception>
    public static NpgsqlConnectionStringBuilder Parse(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var text = connectionString.Trim();
        if (text.Length == 0)
            throw new ConnectionStringException("the connection string is empty; " + FormHelp);

        if (text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) ||
            text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase))
            return FromUrl(text);

        if (text.Contains("://", StringComparison.Ordinal))
            throw new ConnectionStringException("unsupported URL scheme: use postgresql:// or postgres://");

        // "host=a;database=b" would also read as libpq pairs with odd values, so an Npgsql
        // reading is tried first whenever there is a ';'.
        ConnectionStringException? npgsqlError = null;
        if (text.Contains(';'))
        {
            try { return FromNpgsql(text); }
            catch (ConnectionStringException e) { npgsqlError = e; }
        }

        ConnectionStringException libpqError;
        try { return FromKeyValue(text); }
        catch (ConnectionStringException e) { libpqError = e; }

        if (npgsqlError is null && CountUnquoted(text, '=') == 1 && IsSingleNpgsqlPair(text))
        {
            // A single Npgsql pair such as "Host=db" or "Server=db".
            try { return FromNpgsql(text); }
            catch (ConnectionStringException e) { npgsqlError = e; }
        }
        throw npgsqlError ?? libpqError;
    }

    /// <summary>"Host=db" or "Server=db": a key that is not a libpq keyword and a value without spaces.</summary>
    private static bool IsSingleNpgsqlPair(string text)
    {
        var eq = text.IndexOf('=');
        var key = text[..eq].Trim();
        var value = text[(eq + 1)..].Trim();
        return !LibpqKeywords.ContainsKey(key) && value.Length > 0 && !value.Any(char.IsWhiteSpace);
    }

    private static int CountUnquoted(string s, char c)
    {
        var n = 0;
        var quoted = false;
        foreach (var ch in s)
        {
            if (ch == '\'') quoted = !quoted;
            else if (ch == c && !quoted) n++;
        }
        return n;
    }

    private static NpgsqlConnectionStringBuilder FromNpgsql(string text)
    {
        try
        {
            var b = new NpgsqlConnectionStringBuilder(text);
            if (b.Count == 0)
                throw new ConnectionStringException("the connection string has no options; " + FormHelp);
            return b;
        }
        catch (ConnectionStringException) { throw; }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException or KeyNotFoundException)
        {
            // Npgsql names the keyword in ParamName; its inner exceptions quote the value, so they are dropped.
            var keyword = e is ArgumentException { ParamName: { Length: > 0 } p } ? SafeKey(p) : null;
            var reason = keyword is null ? "it is not a valid Npgsql connection string"
                : e.InnerException is KeyNotFoundException ? $"unknown option \"{keyword}\""
                : $"invalid value for option \"{keyword}\"";
            throw new ConnectionStringException($"invalid connection string: {reason}; " + FormHelp);
        }
    }

    // ---- libpq key=value -------------------------------------------------------------

    private static NpgsqlConnectionStringBuilder FromKeyValue(string text)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        var i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            if (i >= text.Length) break;
            var keyStart = i;
            while (i < text.Length && text[i] != '=' && !char.IsWhiteSpace(text[i])) i++;
            var key = text[keyStart..i];
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            if (i >= text.Length || text[i] != '=')
                throw new ConnectionStringException(
                    (pairs.Count == 0 ? "not a connection string: " : "missing \"=\" after an option name: ") + FormHelp);
            i++;
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            var value = new StringBuilder();
            if (i < text.Length && text[i] == '\'')
            {
                i++;
                var closed = false;
                while (i < text.Length)
                {
                    if (text[i] == '\\' && i + 1 < text.Length) { value.Append(text[i + 1]); i += 2; continue; }
                    if (text[i] == '\'') { closed = true; i++; break; }
                    value.Append(text[i++]);
                }
                if (!closed)
                    throw new ConnectionStringException($"unterminated quoted value of option \"{SafeKey(key)}\"");
            }
            else
            {
                while (i < text.Length && !char.IsWhiteSpace(text[i]))
                {
                    if (text[i] == '\\' && i + 1 < text.Length) { value.Append(text[i + 1]); i += 2; continue; }
                    value.Append(text[i++]);
                }
            }
            pairs.Add(new(key, value.ToString()));
        }
        if (pairs.Count == 0)
            throw new ConnectionStringException("not a connection string: " + FormHelp);
        foreach (var (key, _) in pairs)
            if (!LibpqKeywords.ContainsKey(key))
                throw new ConnectionStringException($"unknown connection option \"{SafeKey(key)}\"; " + FormHelp);
        return FromLibpqOptions(pairs);
    }

    private static string SafeKey(string key) => key.Length > 40 ? key[..40] + "…" : key;

    // ---- libpq URL ---------------------------------------------------------------------

    private static NpgsqlConnectionStringBuilder FromUrl(string text)
    {
        var rest = text[(text.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var pairs = new List<KeyValuePair<string, string>>();

        string? query = null;
        var q = rest.IndexOf('?');
        if (q >= 0) { query = rest[(q + 1)..]; rest = rest[..q]; }
        var hash = rest.IndexOf('#');
        if (hash >= 0) rest = rest[..hash];

        string? path = null;
        var slash = rest.IndexOf('/');
        if (slash >= 0) { path = rest[(slash + 1)..]; rest = rest[..slash]; }

        var at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = rest[..at];
            rest = rest[(at + 1)..];
            var colon = userInfo.IndexOf(':');
            var user = colon >= 0 ? userInfo[..colon] : userInfo;
            if (user.Length > 0) pairs.Add(new("user", Decode(user, "user name")));
            if (colon >= 0) pairs.Add(new("password", Decode(userInfo[(colon + 1)..], "password")));
        }

        // host[:port][,host[:port]...]; a host may be [ipv6].
        if (rest.Length > 0)
        {
            var hosts = new List<string>();
            var ports = new List<string>();
            foreach (var part in rest.Split(','))
            {
                string host, port = "";
                if (part.StartsWith('['))
                {
                    var close = part.IndexOf(']');
                    if (close < 0) throw new ConnectionStringException("invalid URL: unterminated [IPv6 address]");
                    host = part[1..close];
                    var after = part[(close + 1)..];
                    if (after.StartsWith(':')) port = after[1..];
                    else if (after.Length > 0) throw new ConnectionStringException("invalid URL: unexpected text after an [IPv6 address]");
                }
                else
                {
                    var c = part.LastIndexOf(':');
                    host = c >= 0 ? part[..c] : part;
                    port = c >= 0 ? part[(c + 1)..] : "";
                }
                hosts.Add(Decode(host, "host"));
                ports.Add(Decode(port, "port"));
            }
            if (hosts.Any(h => h.Length > 0)) pairs.Add(new("host", string.Join(',', hosts)));
            if (ports.Any(p => p.Length > 0)) pairs.Add(new("port", string.Join(',', ports)));
        }

        if (!string.IsNullOrEmpty(path)) pairs.Add(new("dbname", Decode(path, "database name")));

        if (!string.IsNullOrEmpty(query))
        {
            foreach (var item in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = item.IndexOf('=');
                if (eq < 0)
                    throw new ConnectionStringException("invalid URL: a query parameter has no \"=\"");
                var key = Decode(item[..eq], "parameter name");
                var value = Decode(item[(eq + 1)..], "parameter value");
                if (!LibpqKeywords.ContainsKey(key))
                    throw new ConnectionStringException($"invalid URL: unknown connection option \"{SafeKey(key)}\"");
                pairs.RemoveAll(p => p.Key == key);
                pairs.Add(new(key, value));
            }
        }
        return FromLibpqOptions(pairs);
    }

    private static string Decode(string s, string what)
    {
        if (!s.Contains('%')) return s;
        try
        {
            var bytes = new List<byte>();
            for (var i = 0; i < s.Length; i++)
            {
                if (s[i] == '%')
                {
                    if (i + 2 >= s.Length ||
                        !byte.TryParse(s.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
                        throw new ConnectionStringException($"invalid URL: bad percent-encoding in the {what}");
                    bytes.Add(b);
                    i += 2;
                }
                else bytes.AddRange(Encoding.UTF8.GetBytes(s[i].ToString()));
            }
            return new UTF8Encoding(false, true).GetString(bytes.ToArray());
        }
        catch (DecoderFallbackException)
        {
            throw new ConnectionStringException($"invalid URL: the {what} is not valid UTF-8 after percent-decoding");
        }
    }

    // ---- libpq options → Npgsql ---------------------------------------------------------

    private static NpgsqlConnectionStringBuilder FromLibpqOptions(List<KeyValuePair<string, string>> pairs)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in pairs) options[k] = v; // libpq: the last one wins

        var b = new NpgsqlConnectionStringBuilder();
        try
        {
            if (options.TryGetValue("service", out _))
                throw new ConnectionStringException("connection service files (service=...) are not supported; give host, port, dbname and user");
            if (options.TryGetValue("replication", out _))
                throw new ConnectionStringException("the replication option is not accepted here; hindsight opens replication connections itself");

            var hosts = options.TryGetValue("host", out var h) && h.Length > 0 ? h.Split(',') :
                options.TryGetValue("hostaddr", out var ha) && ha.Length > 0 ? ha.Split(',') : [];
            var ports = options.TryGetValue("port", out var p) && p.Length > 0 ? p.Split(',') : [];
            foreach (var port in ports)
                if (port.Length > 0 && (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n is < 1 or > 65535))
                    throw new ConnectionStringException("invalid port: expected a number from 1 to 65535");
            if (ports.Length > 1 && ports.Length != Math.Max(hosts.Length, 1))
                throw new ConnectionStringException($"{ports.Length} ports given for {hosts.Length} hosts");

            if (hosts.Length <= 1)
            {
                if (hosts.Length == 1 && hosts[0].Length > 0) b.Host = hosts[0];
                if (ports.Length == 1 && ports[0].Length > 0) b.Port = int.Parse(ports[0], CultureInfo.InvariantCulture);
            }
            else if (ports.Length <= 1 || ports.All(x => x == ports[0]))
            {
                b.Host = string.Join(',', hosts.Select(x => x.Length == 0 ? "localhost" : x));
                if (ports.Length >= 1 && ports[0].Length > 0) b.Port = int.Parse(ports[0], CultureInfo.InvariantCulture);
            }
            else
            {
                b.Host = string.Join(',', hosts.Select((x, i) =>
                {
                    var host = x.Length == 0 ? "localhost" : x.Contains(':') ? $"[{x}]" : x;
                    return ports[i].Length == 0 ? host : $"{host}:{ports[i]}";
                }));
            }

            foreach (var (key, value) in options)
            {
                if (IgnoredLibpqKeywords.Contains(key)) continue;
                switch (key)
                {
                    case "host" or "hostaddr" or "port":
                        break;
                    case "sslmode":
                        b.SslMode = OneOf(key, value, ("disable", SslMode.Disable), ("allow", SslMode.Allow), ("prefer", SslMode.Prefer),
                            ("require", SslMode.Require), ("verify-ca", SslMode.VerifyCA), ("verify-full", SslMode.VerifyFull));
                        break;
                    case "ssl":
                        // libpq's JDBC compatibility: ssl=true means sslmode=require.
                        if (value == "true" && !options.ContainsKey("sslmode")) b.SslMode = SslMode.Require;
                        else if (value != "true")
                            throw new ConnectionStringException("invalid ssl option: only ssl=true is accepted (or use sslmode)");
                        break;
                    case "gssencmode":
                        b.GssEncryptionMode = OneOf(key, value,
                            ("disable", GssEncryptionMode.Disable), ("prefer", GssEncryptionMode.Prefer), ("require", GssEncryptionMode.Require));
                        break;
                    case "channel_binding":
                        b.ChannelBinding = OneOf(key, value,
                            ("disable", ChannelBinding.Disable), ("prefer", ChannelBinding.Prefer), ("require", ChannelBinding.Require));
                        break;
                    case "sslnegotiation":
                        b.SslNegotiation = OneOf(key, value, ("postgres", SslNegotiation.Postgres), ("direct", SslNegotiation.Direct));
                        break;
                    case "load_balance_hosts":
                        b.LoadBalanceHosts = OneOf(key, value, ("disable", false), ("random", true));
                        break;
                    case "keepalives":
                        b.TcpKeepAlive = value != "0";
                        break;
                    case "sslcrl" or "sslcrldir" or "requirepeer":
                        throw new ConnectionStringException($"the connection option \"{key}\" is not supported");
                    case "connect_timeout":
                        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var t) || t < 0)
                            throw new ConnectionStringException("invalid connect_timeout: expected a number of seconds");
                        b.Timeout = Math.Min(t, 1024);
                        break;
                    default:
                        var target = LibpqKeywords[key]
                            ?? throw new ConnectionStringException($"the connection option \"{key}\" is not supported");
                        b[target] = value;
                        break;
                }
            }
        }
        catch (ConnectionStringException) { throw; }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            var keyword = e is ArgumentException { ParamName: { Length: > 0 } p } ? SafeKey(p) : "?";
            throw new ConnectionStringException($"invalid connection string: invalid value for option \"{keyword}\"");
        }
        return b;
    }

    /// <summary>The value of a libpq option that takes one of a few words, or the error that lists them.</summary>
    private static T OneOf<T>(string option, string value, params (string Word, T Value)[] choices)
    {
        foreach (var (word, result) in choices)
            if (word == value) return result;
        var words = choices.Select(c => c.Word).ToArray();
        throw new ConnectionStringException(
            $"invalid {option}: expected {string.Join(", ", words[..^1])} or {words[^1]}");
    }
}
