using Hindsight.Tests.Infrastructure;

namespace Hindsight.Tests.Chain;

/// <summary>
/// A trail to chain and then tamper with: single-column and composite keys, numeric and jsonb values whose text jsonb
/// normalises (exponents, key order, escapes), contexts, updates and deletes, and one transaction large enough to be
/// streamed before its commit (the sink's other path).
/// </summary>
public static class ChainWorkload
{
    public const string Schema =
        """
        CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2) NOT NULL, meta jsonb);
        CREATE TABLE lines (order_id int, line int, sku text, qty int, PRIMARY KEY (order_id, line));
        """;

    /// <summary>Writes the workload through <paramref name="h"/>'s database; with a running worker, each phase is caught
    /// up with before the next, so the chain has several blocks.</summary>
    public static async Task RunAsync(CaptureHarness h, int accounts = 30, bool catchUp = true, bool streamed = true)
    {
        async Task Pause() { if (catchUp) await h.CatchUpAsync(); }
        for (var i = 1; i <= accounts; i++)
            await h.ExecuteAsync(
                $$"""
                BEGIN;
                SELECT pg_logical_emit_message(true, 'hindsight', '{"user": "u{{i}}", "request": "r-{{i}}", "n": 1.50e1}');
                INSERT INTO accounts VALUES ({{i}}, 'owner é {{i}}', {{i}}.25, '{"z": null, "aa": {"b": 1.50}, "tags": ["a", "\u00e9", "x\ty"], "n": 1e2}');
                INSERT INTO lines SELECT {{i}}, g, 'sku-' || g, g FROM generate_series(1, 3) g;
                COMMIT;
                """);
        await Pause();
        for (var i = 1; i <= accounts; i += 3)
            await h.ExecuteAsync(
                $$"""
                BEGIN;
                SELECT pg_logical_emit_message(true, 'hindsight', '{"user": "support", "ticket": {{i}}}');
                UPDATE accounts SET balance = balance + 10, meta = meta || '{"seen": true}' WHERE id = {{i}};
                UPDATE lines SET qty = qty + 1 WHERE order_id = {{i}};
                COMMIT;
                """);
        await Pause();
        await h.ExecuteAsync("DELETE FROM lines WHERE order_id = 2; DELETE FROM accounts WHERE id = 2");
        await Pause();
        // Over logical_decoding_work_mem (1MB in the tests' server): streamed, spilled, written at its commit.
        if (streamed) await h.ExecuteAsync("INSERT INTO lines SELECT 1000, g, repeat('s', 600), g FROM generate_series(1, 3000) g");
    }
}
