using System.Globalization;
using System.Text;

namespace Hindsight.Queue;

/// <summary>The subjects of the stream: one per source, so a source's backlog can be counted and waited for on its own.</summary>
internal static class QueueSubjects
{
    /// <summary><c>{stream}.changes.{source}</c>, the source's name made a single subject token.</summary>
    public static string ChangesOf(string stream, string source) => $"{stream}.changes.{Token(source)}";

    /// <summary>
    /// A source name as one subject token: NATS gives '.', '*' and '>' a meaning and forbids whitespace, so those (and
    /// '%', the escape) are written as %XX of their UTF-8 bytes. Two names never share a token.
    /// </summary>
    public static string Token(string source)
    {
        var sb = new StringBuilder(source.Length);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in source.EnumerateRunes())
        {
            if (rune.Value is '.' or '*' or '>' or '%' || Rune.IsWhiteSpace(rune) || Rune.IsControl(rune))
            {
                var n = rune.EncodeToUtf8(utf8);
                foreach (var b in utf8[..n]) sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            else sb.Append(rune.ToString());
        }
        return sb.ToString();
    }
}
