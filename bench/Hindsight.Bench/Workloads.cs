using Npgsql;

namespace Hindsight.Bench;

/// <summary>What a benchmark writes into the tracked table <c>public.items</c>.</summary>
internal abstract class Workload
{
    public const string Table = "public.items";
    public const string TableName = "items";

    /// <summary>A tracked table with a few typed columns.</summary>
    public const string Schema =
        """
        CREATE TABLE public.items (
            id      bigint PRIMARY KEY,
            n       int NOT NULL,
            label   text,
            amount  numeric(12,2),
            at      timestamptz,
            doc     jsonb
        );
        """;

    /// <summary>The column values of row <paramref name="x"/> (an SQL expression of a bigint).</summary>
    protected static string Row(string e)
    {
        var x = $"({e})";
        return $"{x}, ({x} % 1000)::int, 'item ' || {x}, round(({x} * 1.37)::numeric, 2), " +
        $"timestamptz '2024-01-01 00:00:00+00' + {x} * interval '1 second', " +
        $"jsonb_build_object('id', {x}, 'tags', jsonb_build_array('a', 'b'), 'ok', true)";
    }

    public abstract string Name { get; }
    public abstract string Description { get; }

    /// <summary>Schema and rows that exist before the slots are created (not captured).</summary>
    public virtual async Task PrepareAsync(NpgsqlConnection conn) => await BenchServer.ExecAsync(conn, Schema);

    /// <summary>The captured writes.</summary>
    public abstract Task RunAsync(NpgsqlConnection conn);

    /// <summary>Makes the session's table statistics visible to other sessions now.</summary>
    public static async Task FlushStatsAsync(NpgsqlConnection conn) =>
        await BenchServer.ExecAsync(conn, "SELECT pg_stat_force_next_flush()");
}

/// <summary>Many small transactions: each inserts 2 rows, updates 2 and deletes 1 (5 row changes).</summary>
internal sealed class SmallTransactions(int transactions) : Workload
{
    public override string Name => "small";
    public override string Description => $"{transactions:N0} transactions x 5 row changes (2 INSERT, 2 UPDATE, 1 DELETE)";

    public override async Task PrepareAsync(NpgsqlConnection conn)
    {
        await base.PrepareAsync(conn);
        // Rows 1..2N are updated, rows 2N+1..3N deleted, new rows get ids above 3N.
        await BenchServer.ExecAsync(conn, $"INSERT INTO public.items SELECT {Row("g")} FROM generate_series(1, {3L * transactions}) g");
        await BenchServer.ExecAsync(conn,
            $$"""
            CREATE PROCEDURE public.bench_small(tx_count int) LANGUAGE plpgsql AS $p$
            DECLARE base bigint := 3::bigint * tx_count; x bigint;
            BEGIN
              FOR i IN 0 .. tx_count - 1 LOOP
                x := base + 2 * i + 1;
                INSERT INTO public.items VALUES ({{Row("x")}}), ({{Row("x + 1")}});
                UPDATE public.items
                   SET n = n + 1, label = label || ' v2', amount = amount + 1, at = at + interval '1 hour',
                       doc = doc || jsonb_build_object('v', i)
                 WHERE id IN (2 * i + 1, 2 * i + 2);
                DELETE FROM public.items WHERE id = base - i;
                COMMIT;
              END LOOP;
            END $p$;
            """);
        await BenchServer.ExecAsync(conn, "VACUUM ANALYZE public.items");
    }

    public override async Task RunAsync(NpgsqlConnection conn) =>
        await BenchServer.ExecAsync(conn, $"CALL public.bench_small({transactions})");
}

/// <summary>One large transaction: an INSERT … SELECT of many rows.</summary>
internal sealed class LargeTransaction(int rows) : Workload
{
    public override string Name => "large";
    public override string Description => $"1 transaction: INSERT ... SELECT of {rows:N0} rows";

    public override async Task RunAsync(NpgsqlConnection conn) =>
        await BenchServer.ExecAsync(conn, $"INSERT INTO public.items SELECT {Row("g")} FROM generate_series(1, {rows}) g");
}

/// <summary>
/// A mix as a new user might try it: many ten-row transactions, then one large INSERT (streamed: over
/// logical_decoding_work_mem), then one UPDATE of many rows.
/// </summary>
/// <remarks>The writing session commits with synchronous_commit off: only the time to write the backlog shortens
/// (40,000 flushes fewer); the WAL the consumers read is the same.</remarks>
internal sealed class MixedWorkload(int smallTransactions = 40_000, int insertRows = 200_000, int updateRows = 50_000) : Workload
{
    public override string Name => "mix";
    public override string Description =>
        $"{smallTransactions:N0} transactions x 10 INSERTs, then 1 INSERT ... SELECT of {insertRows:N0} rows, then 1 UPDATE of {updateRows:N0} rows";

    public override async Task PrepareAsync(NpgsqlConnection conn)
    {
        await base.PrepareAsync(conn);
        // Rows 1..U exist for the UPDATE; the small transactions insert from U+1 on, the large INSERT after them.
        await BenchServer.ExecAsync(conn, $"INSERT INTO public.items SELECT {Row("g")} FROM generate_series(1, {updateRows}) g");
        await BenchServer.ExecAsync(conn,
            $$"""
            CREATE PROCEDURE public.bench_mix_small(tx_count int, first bigint) LANGUAGE plpgsql AS $p$
            BEGIN
              FOR i IN 0 .. tx_count - 1 LOOP
                INSERT INTO public.items SELECT {{Row("g")}} FROM generate_series(first + 10 * i, first + 10 * i + 9) g;
                COMMIT;
              END LOOP;
            END $p$;
            """);
        await BenchServer.ExecAsync(conn, "VACUUM ANALYZE public.items");
    }

    public override async Task RunAsync(NpgsqlConnection conn)
    {
        long first = updateRows + 1, large = first + 10L * smallTransactions;
        await BenchServer.ExecAsync(conn, "SET synchronous_commit = off");
        await BenchServer.ExecAsync(conn, $"CALL public.bench_mix_small({smallTransactions}, {first})");
        await BenchServer.ExecAsync(conn, $"INSERT INTO public.items SELECT {Row("g")} FROM generate_series({large}, {large + insertRows - 1}) g");
        await BenchServer.ExecAsync(conn,
            $"UPDATE public.items SET n = n + 1, label = label || ' v2', amount = amount + 1 WHERE id BETWEEN 1 AND {updateRows}");
        await BenchServer.ExecAsync(conn, "RESET synchronous_commit");
    }
}

/// <summary>
/// Rows with a wide jsonb document (~2.3 KB: 40 fields, each a short text and an md5), inserted in one transaction and
/// each updated once in another: for the bytes per change of images large enough for PostgreSQL to compress.
/// </summary>
internal sealed class WideRows(int rows) : Workload
{
    public override string Name => "wide";
    public override string Description => $"{rows:N0} rows of a ~2.3 KB jsonb document inserted, then each updated (2 transactions)";

    public override async Task RunAsync(NpgsqlConnection conn)
    {
        await BenchServer.ExecAsync(conn,
            $"""
            INSERT INTO public.items (id, n, label, doc)
            SELECT g, 0, 'wide ' || g, (SELECT jsonb_object_agg('field_' || i, 'value ' || (g * i) % 1000 || ' ' || md5((g + i)::text))
                                        FROM generate_series(1, 40) i)
            FROM generate_series(1, {rows}) g
            """);
        await BenchServer.ExecAsync(conn, "UPDATE public.items SET n = 1, doc = doc || '{\"field_1\": \"changed\"}'");
    }
}
