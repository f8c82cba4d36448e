using Npgsql;

namespace Hindsight.Tests.Infrastructure;

/// <summary>
/// A write workload that keeps going through faults: small mixed transactions with context (inserts, multi-row
/// inserts, updates, deletes) on two oracle-tracked tables; a transaction that fails (server restarting,
/// connection killed) is retried on a new connection. Whether a failed COMMIT took effect does not matter:
/// the oracle record is written in the same transaction, so it holds exactly what PostgreSQL committed.
/// </summary>
public static class FaultWorkload
{
    /// <summary>Schema of the workload, with the oracle attached.</summary>
    public static readonly string Schema =
        Oracle.Install +
        """
        CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL, note text);
        CREATE TABLE ledger (id bigserial PRIMARY KEY, account int, amount int);
        """ + Oracle.Attach("accounts") + Oracle.Attach("ledger");

    /// <summary>Writes until <paramref name="stop"/>; returns (transactions committed, transactions that failed).</summary>
    public static async Task<(int Committed, int Failed)> RunAsync(NpgsqlDataSource db, int writer, CancellationToken stop)
    {
        var random = new Random(writer);
        int committed = 0, failed = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var conn = await db.OpenConnectionAsync(stop);
                while (!stop.IsCancellationRequested)
                {
                    var id = writer * 1_000_000 + random.Next(200);
                    await using var tx = await conn.BeginTransactionAsync(stop);
                    await using var cmd = conn.CreateCommand();
                    cmd.Transaction = tx;
                    cmd.CommandText =
                        $$"""
                        SELECT pg_logical_emit_message(true, 'hindsight', '{"writer": {{writer}}, "n": {{committed}}}');
                        INSERT INTO accounts VALUES ({{id}}, {{random.Next(1000)}}, 'w{{writer}}') ON CONFLICT (id) DO UPDATE SET balance = accounts.balance + 1;
                        INSERT INTO ledger (account, amount) SELECT {{id}}, g FROM generate_series(1, {{random.Next(1, 5)}}) g;
                        UPDATE accounts SET note = md5(random()::text) WHERE id = {{writer * 1_000_000 + random.Next(200)}};
                        DELETE FROM accounts WHERE id = {{writer * 1_000_000 + random.Next(200)}} AND random() < 0.3;
                        """;
                    await cmd.ExecuteNonQueryAsync(stop);
                    await tx.CommitAsync(stop);
                    committed++;
                    await Task.Delay(random.Next(0, 5), stop);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { break; }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or IOException)
            {
                failed++;
                try { await Task.Delay(100, stop); } catch (OperationCanceledException) { break; }
            }
        }
        return (committed, failed);
    }
}
