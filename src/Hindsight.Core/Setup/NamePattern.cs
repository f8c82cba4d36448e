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

/// <summary>A parsed name: one part (name) or two (schema.name).</summary>
internal sealed record NamePattern(string Input, IReadOnlyList<NamePart> Parts)
{
    public NamePart? Schema => Parts.Count == 2 ? Parts[0] : null;
    public NamePart Name => Parts[^1];
}
