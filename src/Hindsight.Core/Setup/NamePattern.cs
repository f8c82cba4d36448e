namespace Hindsight.Setup;

/// <summary>A parsed name: one part (name) or two (schema.name).</summary>
internal sealed record NamePattern(string Input, IReadOnlyList<NamePart> Parts)
{
    public NamePart? Schema => Parts.Count == 2 ? Parts[0] : null;
    public NamePart Name => Parts[^1];
}
