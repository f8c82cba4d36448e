namespace Hindsight.Store;

/// <summary>
/// Store migration 13: the images and the context compressed with lz4 where the server has it. PostgreSQL compresses a
/// value only once its row passes ~2 KB, and its default method, pglz, gives up on a jsonb image whose first kilobyte
/// does not repeat itself, which is most of them: 2.3 KB images were stored whole. lz4 stores them in about three
/// quarters of that, and writes and reads them faster (BENCHMARKS.md, "The partitioned store"). Smaller rows are
/// never compressed, by either. Values already stored keep their form; partitions made later copy the setting.
/// </summary>
internal static class ImageCompression
{
    public const string Sql =
        """
        DO $do$
        DECLARE
            rel regclass;
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
                -- The table and each partition it has: the setting does not pass down by itself.
                FOR rel IN SELECT t.relid FROM pg_partition_tree('hindsight.changes') t LOOP
                    EXECUTE format('ALTER TABLE %s ALTER COLUMN before SET COMPRESSION lz4, ALTER COLUMN after SET COMPRESSION lz4, '
                                   'ALTER COLUMN context SET COMPRESSION lz4', rel);
                END LOOP;
            END IF;
        END
        $do$;
        """;
}
