using Hindsight.Postgres;

namespace Hindsight.Setup;

/// <summary>One dot-separated part of a name.</summary>
internal sealed record NamePart(string Text, bool Quoted)
{
    /// <summary>The spellings to try: folded first (PostgreSQL's rule), then as typed.</summary>
    public IEnumerable<string> Candidates()
    {
        if (Quoted) { yield return Text; yield break; }
        var folded = PgNames.Fold(Text);
        yield return folded;
        if (folded != Text) yield return Text;
    }
}
