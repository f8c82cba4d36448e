using Hindsight.Capture.Rendering;
using Npgsql;
using Npgsql.Replication.PgOutput.Messages;

namespace Hindsight.Capture;

/// <summary>
/// Turns pgoutput relation messages into <see cref="RelationInfo"/>: column types resolved in the
/// type catalog and the primary key read from <c>pg_index.indisprimary</c> (under REPLICA IDENTITY
/// FULL pgoutput flags every column as key, so its flags cannot tell the primary key).
/// </summary>
internal sealed class RelationCatalog(NpgsqlDataSource source, PgTypeCatalog types)
{
    private readonly Dictionary<uint, RelationInfo> _relations = new();
    private readonly Dictionary<uint, string[]> _keysInWal = new();

    /// <summary>The type catalog used to resolve column types.</summary>
    public PgTypeCatalog Types => types;

    /// <summary>Records a relation message (sent before first use and again after any schema change).</summary>
    public async ValueTask<RelationInfo> RegisterAsync(RelationMessage message, CancellationToken ct)
    {
        var columns = new RelationColumn[message.Columns.Count];
        for (var i = 0; i < columns.Length; i++)
        {
            var c = message.Columns[i];
            columns[i] = new RelationColumn(c.ColumnName, await types.ResolveAsync(c.DataTypeId, ct).ConfigureAwait(false));
        }
        IReadOnlyList<string> keyNames = await PrimaryKeyColumnsAsync(message.RelationId, ct).ConfigureAwait(false);
        var key = KeyIndexes(keyNames, columns);
        // The catalog is today's. A table dropped since the change was written, or whose key column was renamed since,
        // has no such key there: the key the schema change trigger put in the WAL before this message is the one then.
        if (key.Count == 0 && _keysInWal.TryGetValue(message.RelationId, out var keyThen))
        {
            keyNames = keyThen;
            key = KeyIndexes(keyNames, columns);
        }
        // Neither (no trigger, or the table came and went before setup described it): under REPLICA IDENTITY DEFAULT the relation message flags exactly the primary key's columns.
        if (keyNames.Count == 0 && message.ReplicaIdentity == RelationMessage.ReplicaIdentitySetting.Default)
            for (var i = 0; i < message.Columns.Count; i++)
                if ((message.Columns[i].Flags & RelationMessage.Column.ColumnFlags.PartOfKey) != 0) key.Add(i);
        var info = new RelationInfo(message.RelationId, message.Namespace, message.RelationName, columns, key.ToArray(),
            message.ReplicaIdentity == RelationMessage.ReplicaIdentitySetting.AllColumns);
        _relations[message.RelationId] = info;
        return info;
    }

    /// <summary>Records a table's primary key columns as a schema change message in the WAL gives them.</summary>
    public void RememberKey(uint relationId, string[] keyColumns) => _keysInWal[relationId] = keyColumns;

    private static List<int> KeyIndexes(IReadOnlyList<string> names, RelationColumn[] columns)
    {
        var key = new List<int>(names.Count);
        foreach (var name in names)
        {
            var index = Array.FindIndex(columns, c => c.Name == name);
            if (index < 0) return []; // key column not published (column list): no usable key
            key.Add(index);
        }
        return key;
    }

    /// <summary>The last registered description of a relation.</summary>
    public RelationInfo Get(uint relationId) =>
        _relations.TryGetValue(relationId, out var r) ? r
            : throw new InvalidOperationException($"relation {relationId} used before its relation message");

    private async Task<List<string>> PrimaryKeyColumnsAsync(uint relationId, CancellationToken ct)
    {
        var cmd = source.CreateCommand(PrimaryKeySql.ColumnNames("$1"));
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.Add(new NpgsqlParameter { Value = relationId, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Oid });
        var names = new List<string>();
        var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false)) names.Add(reader.GetString(0));
        return names;
    }
}
