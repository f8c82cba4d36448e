using Npgsql;

namespace Hindsight.Setup;

/// <summary>The current state of a publication.</summary>
/// <remarks>GeneratedStored: whether it publishes stored generated columns (<c>publish_generated_columns = stored</c>,
/// PostgreSQL 18+); false before 18, where no publication can.</remarks>
internal sealed record PublicationState(bool AllTables, bool PublishesAll, bool ViaRoot, HashSet<uint> Tables, HashSet<uint> Schemas, bool Filtered,
    bool GeneratedStored = false)
{
    private static NpgsqlParameter Oid(uint oid) => new() { Value = oid, DataTypeName = "oid" };

    public static async Task<PublicationState?> ReadAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string name, int versionNum, CancellationToken ct)
    {
        uint oid;
        bool all, publishesAll, viaRoot, generatedStored;
        var generated = versionNum >= Postgres.PgFeatures.PublishGeneratedColumnsSince ? "pubgencols = 's'" : "false";
        {
            var cmd = new NpgsqlCommand(
                $"SELECT oid, puballtables, pubinsert AND pubupdate AND pubdelete AND pubtruncate, pubviaroot, {generated} FROM pg_publication WHERE pubname = $1", conn, tx);
            await using (cmd.ConfigureAwait(false))
            {
                cmd.Parameters.AddWithValue(name);
                var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var rDisposal = r.ConfigureAwait(false);
                if (!await r.ReadAsync(ct).ConfigureAwait(false)) return null;
                oid = r.GetFieldValue<uint>(0);
                all = r.GetBoolean(1);
                publishesAll = r.GetBoolean(2);
                viaRoot = r.GetBoolean(3);
                generatedStored = r.GetBoolean(4);
            }
        }
        var tables = new HashSet<uint>();
        var filtered = false;
        {
            var cmd = new NpgsqlCommand(
                versionNum >= 150000
                    ? "SELECT prrelid, prqual IS NOT NULL OR prattrs IS NOT NULL FROM pg_publication_rel WHERE prpubid = $1"
                    : "SELECT prrelid, false FROM pg_publication_rel WHERE prpubid = $1", conn, tx);
            await using (cmd.ConfigureAwait(false))
            {
                cmd.Parameters.Add(Oid(oid));
                var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var rDisposal = r.ConfigureAwait(false);
                while (await r.ReadAsync(ct).ConfigureAwait(false))
                {
                    tables.Add(r.GetFieldValue<uint>(0));
                    filtered |= r.GetBoolean(1);
                }
            }
        }
        var schemas = new HashSet<uint>();
        if (versionNum >= 150000)
        {
            var cmd = new NpgsqlCommand("SELECT pnnspid FROM pg_publication_namespace WHERE pnpubid = $1", conn, tx);
            await using var cmdDisposal = cmd.ConfigureAwait(false);
            cmd.Parameters.Add(Oid(oid));
            var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await using var rDisposal = r.ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false)) schemas.Add(r.GetFieldValue<uint>(0));
        }
        return new PublicationState(all, publishesAll, viaRoot, tables, schemas, filtered, generatedStored);
    }
}
