namespace Hindsight.Postgres;

/// <summary>Lists of names as people type them: an option or parameter repeated, or comma-separated.</summary>
public static class NameList
{
    /// <summary>
    /// The items of <paramref name="values"/>, each split at commas outside double quotes (so <c>"a,b".t</c> stays one
    /// name), trimmed; empty items and null values are skipped.
    /// </summary>
    public static IEnumerable<string> Split(IEnumerable<string?>? values)
    {
        foreach (var value in values ?? [])
        {
            if (value is null) continue;
            var start = 0;
            var quoted = false;
            for (var i = 0; i <= value.Length; i++)
            {
                if (i < value.Length && value[i] == '"') quoted = !quoted;
                if (i == value.Length || (value[i] == ',' && !quoted))
                {
                    var item = value[start..i].Trim();
                    if (item.Length > 0) yield return item;
                    start = i + 1;
                }
            }
        }
    }
}
