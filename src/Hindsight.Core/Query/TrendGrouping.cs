namespace Hindsight.Query;

/// <summary>What a trend counts per bucket: one series per table, per operation, per source, or per value of a context key.</summary>
public sealed record TrendGrouping
{
    private TrendGrouping(TrendGroupKind kind, string? contextKey) => (Kind, ContextKey) = (kind, contextKey);

    /// <summary>Which dimension.</summary>
    public TrendGroupKind Kind { get; }

    /// <summary>The top-level context key for <see cref="TrendGroupKind.Context"/>; null otherwise.</summary>
    public string? ContextKey { get; }

    /// <summary>One series per table (schema.table).</summary>
    public static TrendGrouping ByTable { get; } = new(TrendGroupKind.Table, null);

    /// <summary>One series per operation.</summary>
    public static TrendGrouping ByOperation { get; } = new(TrendGroupKind.Operation, null);

    /// <summary>One series per source (a tracked database of the store, by its name).</summary>
    public static TrendGrouping BySource { get; } = new(TrendGroupKind.Source, null);

    /// <summary>One series per value of a top-level context key (changes without the key form the null series).</summary>
    /// <exception cref="ArgumentException">The key is empty.</exception>
    public static TrendGrouping ByContext(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0) throw new ArgumentException("the context key must not be empty", nameof(key));
        return new(TrendGroupKind.Context, key);
    }

    /// <summary>Parses <c>table</c>, <c>operation</c>, <c>source</c> or <c>context:KEY</c> (the key is taken verbatim after the colon).</summary>
    /// <exception cref="ArgumentException">Any other text.</exception>
    public static TrendGrouping Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.StartsWith("context:", StringComparison.OrdinalIgnoreCase)) return ByContext(text["context:".Length..]);
        return text.Trim().ToLowerInvariant() switch
        {
            "table" => ByTable,
            "operation" => ByOperation,
            "source" => BySource,
            _ => throw new ArgumentException($"unknown grouping '{text}' (use table, operation, source or context:KEY)", "by"),
        };
    }
}
