using System.Text.Json;

namespace Hindsight.Queue;

/// <summary>
/// The last image (<c>after</c>) capture published for each recently changed row, up to a byte budget, least recently
/// changed first out. On the scale path the store lags the queue, so the stitcher's fills (unchanged TOAST values, the
/// before-image under REPLICA IDENTITY DEFAULT) look here first; a row not here is looked up in the store once the
/// ingesters have stored everything this source queued.
/// </summary>
/// <remarks>
/// It answers as the store's lookup would: a delete does not replace the image (the store's lookup skips deletes and
/// finds the image before it), and only this session's publications are here (a new session starts empty).
/// </remarks>
internal sealed class RecentImages(long budgetBytes)
{
    private const int EntryOverhead = 96; // the key's strings, the node and the dictionary slot, roughly

    private readonly record struct RowKey(string Schema, string Table, string PrimaryKey);
    private sealed record Entry(RowKey Key, byte[] After);

    private readonly Dictionary<RowKey, LinkedListNode<Entry>> _rows = [];
    private readonly LinkedList<Entry> _order = new();
    private long _bytes;

    /// <summary>Rows held.</summary>
    public int Count => _rows.Count;

    /// <summary>Bytes held, roughly.</summary>
    public long Bytes => _bytes;

    /// <summary>Records a row's new image (an insert or update).</summary>
    public void Remember(string schema, string table, string primaryKey, byte[] after)
    {
        var key = new RowKey(schema, table, primaryKey);
        if (_rows.Remove(key, out var old))
        {
            _order.Remove(old);
            _bytes -= Cost(old.Value);
        }
        var entry = new Entry(key, after);
        _rows[key] = _order.AddLast(entry);
        _bytes += Cost(entry);
        while (_bytes > budgetBytes && _order.First is { } oldest)
        {
            _order.RemoveFirst();
            _rows.Remove(oldest.Value.Key);
            _bytes -= Cost(oldest.Value);
        }
    }

    /// <summary>The row's last image, or null when it is not held (not changed by this session, or evicted).</summary>
    public JsonElement? Find(string schema, string table, string primaryKey)
    {
        if (!_rows.TryGetValue(new RowKey(schema, table, primaryKey), out var node)) return null;
        using var doc = JsonDocument.Parse(node.Value.After);
        return doc.RootElement.Clone();
    }

    /// <summary>Forgets everything (after a streamed transaction, whose rows are not read back one by one).</summary>
    public void Clear()
    {
        _rows.Clear();
        _order.Clear();
        _bytes = 0;
    }

    private static long Cost(Entry e) => e.After.Length + 2L * (e.Key.Schema.Length + e.Key.Table.Length + e.Key.PrimaryKey.Length) + EntryOverhead;
}
