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
        List<Change> changes;
        if (ChangeSql.HasContainment(filter))
            changes = await ReadInWindowsAsync(filter, page, ct).ConfigureAwait(false);
        else
        {
            var (sql, p) = ChangeSql.PageStatement(filter, page);
            changes = await ReadChangesAsync(sql, p, ct).ConfigureAwait(false);
        }
        if (changes.Count <= page.Limit) return new ChangePage(changes, null);
        changes.RemoveAt(changes.Count - 1);
        return new ChangePage(changes, changes[^1].Id);
    }

    /// <summary>The first id window of a windowed read: about a few seconds of a busy store's changes.</summary>
    private const long FirstWindow = 10_000;

    /// <summary>
    /// A page of a filter with a containment condition, read in windows of ids from the cursor on. Over a whole store,
    /// the GIN index finds every match in every partition, and all of them would be fetched and sorted before the first
    /// page came out; within a window, PostgreSQL combines it with the primary key's range and fetches only the matches
    /// there. Each window is sized from the matches seen so far (one and a half times what the rest of the page should
    /// need, at least twice the last), so a page takes a few windows whether matches are dense or rare; windows in id
    /// order, each read in id order, keep the page's order.
    /// </summary>
    private async Task<List<Change>> ReadInWindowsAsync(ChangeFilter filter, PageRequest page, CancellationToken ct)
    {
        var found = new List<Change>();
        var cmd = _store.CreateCommand(ChangeSql.IdRange);
        long min, max;
        await using (cmd.ConfigureAwait(false))
        {
            var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await using var rDisposal = r.ConfigureAwait(false);
            await r.ReadAsync(ct).ConfigureAwait(false);
            if (r.IsDBNull(0)) return found;
            (min, max) = (r.GetInt64(0), r.GetInt64(1));
        }
        var want = page.Limit + 1;
        // The ids still to read: [from, to).
        var (from, to) = page.OldestFirst ? (Math.Max(min, (page.Cursor ?? min - 1) + 1), max + 1) : (min, Math.Min(max + 1, page.Cursor ?? max + 1));
        var window = FirstWindow;
        long read = 0;
        while (found.Count < want && from < to)
        {
            var size = Math.Min(window, to - from);
            var ids = page.OldestFirst ? (from, from + size) : (to - size, to);
            var (sql, p) = ChangeSql.PageStatement(filter, page, ids, want - found.Count);
            found.AddRange(await ReadChangesAsync(sql, p, ct).ConfigureAwait(false));
            if (page.OldestFirst) from += size; else to -= size;
            read += size;
            var needed = found.Count == 0 ? window * 4 : (long)((want - found.Count) * 1.5 * read / found.Count);
            window = Math.Max(window * 2, needed);
        }
        return found;
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
