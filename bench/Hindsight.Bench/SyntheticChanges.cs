using System.Globalization;

namespace Hindsight.Bench;

/// <summary>
/// A store filled by SQL, without capture, for the query figures (<c>query</c>, <c>store</c>): changes n = from … to − 1,
/// three per transaction, a transaction every <c>secondsPerTransaction</c> from 2026-01-01 UTC. Per 7 changes: 2 of
/// <c>accounts</c> (keys visited in a scattered order, every 50th row deleted in version <c>deleteVersion</c>), 3 of
/// <c>orders</c>, 2 of <c>events</c> (inserts only). Images ~200 bytes (<see cref="ImageFunction"/>); 90% carry a
/// context (500 users). Transaction n / 3 has xid 1000 + n / 3 and commit LSN that xid × 1000.
/// </summary>
internal static class SyntheticChanges
{
    /// <summary>The image of row r in version v, as the fill writes it (create it before <see cref="Fill"/>).</summary>
    public const string ImageFunction =
        """
        CREATE OR REPLACE FUNCTION img(r bigint, v bigint) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
          SELECT jsonb_build_object('id', r, 'name', 'customer ' || r, 'email', 'user' || r || '@example.com',
                                    'balance', ((r * 37 + v * 11) % 100000) / 100.0, 'status', (ARRAY['new','active','paid','closed'])[v % 4 + 1],
                                    'version', v, 'note', 'synthetic row image for the query benchmark ' || md5((r * 10 + v)::text))
        $$
        """;

    /// <summary>The INSERT … SELECT of changes <paramref name="from"/> to <paramref name="to"/> − 1.</summary>
    public static string Fill(long from, long to, double secondsPerTransaction, int accountRows, int orderRows, int deleteVersion) =>
        $$"""
        INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, before, after, context,
                                       committed_at, transaction_id, position, commit_lsn, ordinal, queued_at)
        SELECT 'app', 'app', 'public', g.tbl, g.row::text, g.op,
               CASE WHEN g.ver = 0 THEN '{}'::jsonb ELSE img(g.row, g.ver - 1) END,
               CASE WHEN g.op = 'DELETE' THEN '{}'::jsonb ELSE img(g.row, g.ver) END,
               CASE WHEN g.n % 10 = 9 THEN '{}'::jsonb
                    ELSE jsonb_build_object('userId', 'user-' || (g.n % 500), 'requestId', md5(g.n::text)) END,
               g.at, 1000 + g.n / 3, g.n * 100, (1000 + g.n / 3) * 1000, g.n % 3 + 1, g.at
        FROM (
            SELECT s.n, t.tbl, t.row, t.ver,
                   timestamptz '2026-01-01Z' + (s.n / 3) * interval '{{secondsPerTransaction.ToString("R", CultureInfo.InvariantCulture)}} seconds' AS at,
                   CASE WHEN t.ver = 0 THEN 'CREATE' WHEN t.tbl = 'accounts' AND t.ver = {{deleteVersion}} AND t.row % 50 = 0 THEN 'DELETE' ELSE 'UPDATE' END AS op
            FROM generate_series({{from}}::bigint, {{to - 1}}::bigint) AS s(n)
            CROSS JOIN LATERAL (SELECT CASE WHEN s.n % 7 < 2 THEN 'accounts' WHEN s.n % 7 < 5 THEN 'orders' ELSE 'events' END AS tbl,
                                       CASE WHEN s.n % 7 < 2 THEN (s.n / 7) * 2 + s.n % 7
                                            WHEN s.n % 7 < 5 THEN (s.n / 7) * 3 + s.n % 7 - 2
                                            ELSE (s.n / 7) * 2 + s.n % 7 - 5 END AS k) AS kk
            CROSS JOIN LATERAL (SELECT kk.tbl,
                                       CASE kk.tbl WHEN 'accounts' THEN (kk.k % {{accountRows}}) * 7919 % {{accountRows}} + 1
                                                   WHEN 'orders' THEN (kk.k % {{orderRows}}) * 7919 % {{orderRows}} + 1
                                                   ELSE kk.k + 1 END AS row,
                                       CASE kk.tbl WHEN 'accounts' THEN kk.k / {{accountRows}} WHEN 'orders' THEN kk.k / {{orderRows}} ELSE 0 END AS ver) AS t
        ) g
        """;
}
