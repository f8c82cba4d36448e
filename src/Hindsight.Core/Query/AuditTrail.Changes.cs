namespace Hindsight.Query;

// Changes: one page of those a filter matches, and the sources the store holds.
public sealed partial class AuditTrail
{
    /// <summary>
    /// One page of the changes that match <paramref name="filter"/>, newest first unless
    /// <see cref="PageRequest.OldestFirst"/>. Pages are keyset-paginated on <see cref="Change.Id"/> (the store's order,
    /// which is commit order per database): following <see cref="ChangePage.NextCursor"/> visits every matching change
    /// exactly once, however many changes are stored meanwhile.
    /// </summary>
    public async Task<ChangePage> QueryAsync(ChangeFilter filter, PageRequest? page = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        page ??= new PageRequest();
        var (sql, p) = ChangeSql.PageStatement(filter, page);
        var changes = await ReadChangesAsync(sql, p, ct).ConfigureAwait(false);
        if (changes.Count <= page.Limit) return new ChangePage(changes, null);
        changes.RemoveAt(changes.Count - 1);
        return new ChangePage(changes, changes[^1].Id);
    }

    /// <summary>The sources the store holds changes of, by name, in bytewise order (one index probe per source).</summary>
    public async Task<IReadOnlyList<string>> SourcesAsync(CancellationToken ct = default)
    {
        var cmd = _store.CreateCommand(ChangeSql.Sources);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        var sources = new List<string>();
        while (await r.ReadAsync(ct).ConfigureAwait(false)) sources.Add(r.GetString(0));
        return sources;
    }
}
