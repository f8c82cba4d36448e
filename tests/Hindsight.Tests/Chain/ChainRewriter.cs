using Hindsight.Chain;
using Npgsql;

namespace Hindsight.Tests.Chain;

/// <summary>
/// What a careful attacker with the store's owner role does after altering changes: recompute every leaf, block hash,
/// link and kept tree node of a source from the changes as they now are, so that the store agrees with itself. Only a
/// checkpoint kept away from the store can tell.
/// </summary>
public static class ChainRewriter
{
    public static async Task RechainAsync(NpgsqlDataSource db, string source)
    {
        var leaves = new Dictionary<(long, int), byte[]>();
        var leaf = new ChangeLeaf();
        await using (var cmd = db.CreateCommand(
            """
            SELECT id, database, schema, "table", primary_key, operation, before, after, context, committed_at, transaction_id, position, commit_lsn, ordinal
              FROM hindsight.changes WHERE source = $1 AND ordinal > 0
            """))
        {
            cmd.Parameters.AddWithValue(source);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync())
            {
                var c = new StoredChange(r.GetInt64(0), source, r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4),
                    r.GetString(5), r.GetString(6), r.GetString(7), r.GetString(8), StoredBlock.Micros(r.GetDateTime(9)), r.GetInt64(10), r.GetInt64(11),
                    r.GetInt64(12), r.GetInt32(13));
                var hash = new byte[32];
                leaf.FromStored(c, hash);
                leaves[(c.CommitLsn, c.Ordinal)] = hash;
            }
        }
        var blocks = new List<StoredBlock>();
        await using (var cmd = db.CreateCommand($"SELECT {StoredBlock.Columns} FROM hindsight.chain_blocks WHERE source = $1 ORDER BY block"))
        {
            cmd.Parameters.AddWithValue(source);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync()) blocks.Add(StoredBlock.Read(r));
        }
        var previous = ChainBlock.Genesis;
        var tree = new MerkleFrontier();
        var nodes = new List<(int Level, long Index, byte[] Hash)>();
        await using var conn = await db.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        foreach (var b in blocks)
        {
            var bytes = b.Runs.SelectMany(run => Enumerable.Range(run.FirstOrdinal, run.Count).SelectMany(o => leaves[(run.CommitLsn, o)])).ToArray();
            var root = MerkleTree.Root(ChainBlock.RunRoots(b.Runs, bytes), b.Runs.Length);
            var hash = ChainBlock.HashOf(source, b.Number, previous, root, b.Changes, b.PriorChanges, b.Runs);
            tree.Append(hash, nodes);
            await using var update = new NpgsqlCommand(
                "UPDATE hindsight.chain_blocks SET leaves = $3, root = $4, hash = $5, prev_hash = $6, frontier = $7 WHERE source = $1 AND block = $2", conn, tx);
            update.Parameters.AddWithValue(source);
            update.Parameters.AddWithValue(b.Number);
            update.Parameters.AddWithValue(bytes);
            update.Parameters.AddWithValue(root);
            update.Parameters.AddWithValue(hash);
            update.Parameters.AddWithValue(previous);
            update.Parameters.AddWithValue(tree.ToBytes());
            await update.ExecuteNonQueryAsync();
            previous = hash;
        }
        await using var nodesCmd = new NpgsqlCommand(
            """
            WITH gone AS (DELETE FROM hindsight.chain_nodes WHERE source = $1)
            INSERT INTO hindsight.chain_nodes SELECT $1, l, i, h FROM unnest($2::smallint[], $3::bigint[], $4::bytea[]) AS n(l, i, h)
            """, conn, tx);
        nodesCmd.Parameters.AddWithValue(source);
        nodesCmd.Parameters.AddWithValue(nodes.Select(n => (short)n.Level).ToArray());
        nodesCmd.Parameters.AddWithValue(nodes.Select(n => n.Index).ToArray());
        nodesCmd.Parameters.AddWithValue(nodes.Select(n => n.Hash).ToArray());
        await nodesCmd.ExecuteNonQueryAsync();
        await tx.CommitAsync();
    }
}
