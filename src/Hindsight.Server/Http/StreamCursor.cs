using System.Globalization;
using System.Text;

namespace Hindsight.Server.Http;

/// <summary>
/// Where a live stream over several sources stands: the last change id sent of each source. Ids are handed out by one
/// sequence but committed by one worker per source, so only within a source do they become visible in order: a single
/// cursor over several sources would step past a change one worker had not committed yet while another's newer one was
/// read, and never send it. Each source is read from its own cursor instead.
/// </summary>
/// <remarks>
/// Sent as the event id (<c>Last-Event-ID</c> on reconnect): <c>{change id};{start};{source}={id},…</c>, source names
/// percent-encoded; a source not named starts after <c>start</c> (where the stream began). A plain change id (what a
/// one-source stream sends) starts every source after it.
/// </remarks>
internal sealed class StreamCursor
{
    private readonly SortedDictionary<string, long> _bySource = new(StringComparer.Ordinal);

    private StreamCursor(long start) => Start = start;

    /// <summary>Where a source not named in the cursor starts: where the stream began.</summary>
    public long Start { get; }

    /// <summary>A cursor that starts every source after <paramref name="id"/>.</summary>
    public static StreamCursor After(long id) => new(id);

    /// <summary>Reads a cursor sent as an event id, or a plain change id.</summary>
    /// <exception cref="FormatException">Neither.</exception>
    public static StreamCursor Parse(string text, string what)
    {
        var parts = text.Trim().Split(';');
        if (!long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            throw new FormatException($"{what}: '{text}' is not a change id or a stream position");
        if (parts.Length == 1) return new StreamCursor(id);
        if (parts.Length != 3 || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var start))
            throw new FormatException($"{what}: '{text}' is not a stream position");
        var cursor = new StreamCursor(start);
        foreach (var pair in parts[2].Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.LastIndexOf('=');
            if (eq <= 0 || !long.TryParse(pair[(eq + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var sourceId))
                throw new FormatException($"{what}: '{text}' is not a stream position");
            cursor._bySource[Uri.UnescapeDataString(pair[..eq])] = sourceId;
        }
        return cursor;
    }

    /// <summary>The last id sent of <paramref name="source"/>.</summary>
    public long For(string source) => _bySource.TryGetValue(source, out var id) ? id : Start;

    /// <summary>Records that change <paramref name="id"/> of <paramref name="source"/> was sent.</summary>
    public void Sent(string source, long id) => _bySource[source] = Math.Max(For(source), id);

    /// <summary>The cursor as an event id, after change <paramref name="changeId"/>.</summary>
    public string Format(long changeId)
    {
        var sb = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{changeId};{Start};");
        var first = true;
        foreach (var (source, id) in _bySource)
        {
            if (!first) sb.Append(',');
            sb.Append(Uri.EscapeDataString(source)).Append('=').Append(id.ToString(CultureInfo.InvariantCulture));
            first = false;
        }
        return sb.ToString();
    }
}
