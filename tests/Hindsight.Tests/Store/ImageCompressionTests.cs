using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Store;

/// <summary>
/// The store compresses images and context with lz4: a captured image of a wide row (~2.5 KB, which pglz leaves whole)
/// is stored compressed and still equals <c>to_jsonb()</c> of the row; every partition, those made later included,
/// carries the setting. Checked with PostgreSQL's own <c>pg_column_compression</c> and <c>pg_column_size</c>.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class ImageCompressionTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Wide_images_are_stored_with_lz4_whole_and_every_partition_compresses_them()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE wide (id int PRIMARY KEY, doc jsonb)");
        h.StartWorker();
        await h.ExecuteAsync(
            """
            INSERT INTO wide SELECT g, (SELECT jsonb_object_agg('field_' || i, 'value ' || (g * i) % 1000 || ' ' || md5((g + i)::text)) FROM generate_series(1, 40) i)
            FROM generate_series(1, 20) g
            """);
        await h.ExecuteAsync("UPDATE wide SET doc = doc || '{\"field_1\": \"changed\"}' WHERE id <= 10");
        await h.CatchUpAsync();

        // Each stored image is lz4, smaller than its text, and the row as it is now.
        Assert.Equal(0L, await h.ScalarAsync<long>(
            """
            SELECT count(*) FROM hindsight.changes c
            WHERE c."table" = 'wide' AND (pg_column_compression(c.after) IS DISTINCT FROM 'lz4' OR pg_column_size(c.after) >= octet_length(c.after::text))
            """));
        Assert.Equal(30L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE \"table\" = 'wide'"));
        Assert.Equal(0L, await h.ScalarAsync<long>(
            """
            SELECT count(*) FROM wide w
            WHERE to_jsonb(w) <> (SELECT c.after FROM hindsight.changes c WHERE c."table" = 'wide' AND c.primary_key = w.id::text
                                  ORDER BY c.commit_lsn DESC, c.ordinal DESC LIMIT 1)
            """));

        // A partition made later (years ahead) compresses with lz4 too, as does every other.
        await h.ExecuteAsync("SELECT hindsight.maintain_change_partitions(ARRAY[timestamptz '2033-03-03Z'])");
        const string NotLz4 =
            """
            SELECT count(*) FROM pg_attribute a
            WHERE a.attrelid IN (SELECT p.partition FROM hindsight.change_partitions() p UNION ALL SELECT 'hindsight.changes_default'::regclass)
              AND a.attname IN ('before', 'after', 'context') AND a.attcompression <> 'l'
            """;
        Assert.Equal(0L, await h.ScalarAsync<long>(NotLz4));
        Assert.True(await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.change_partitions() WHERE lower >= '2033-01-01'") >= 1);
    }
}
