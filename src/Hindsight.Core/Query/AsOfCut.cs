using NpgsqlTypes;

namespace Hindsight.Query;

/// <summary>
/// A resolved as-of point: which changes count, and their order, as SQL. A moment counts the changes committed at or
/// before it, ordered by (committed_at, commit_lsn, ordinal) — the order of <c>changes_record_idx</c>, kept as it was
/// for time-based reads. A commit LSN counts the changes whose commit LSN is at or before it, ordered by
/// (commit_lsn, ordinal): exact commit order within a database, so commits in the same microsecond still come apart.
/// The TRUNCATE barrier compares positions in the same order as the newest-change choice.
/// </summary>
/// <param name="At">The moment, or the commit time of the commit the LSN resolved to (for people; not compared with).</param>
/// <param name="CommitLsn">The commit LSN to count up to, or null to count by time.</param>
internal sealed record AsOfCut(DateTimeOffset At, long? CommitLsn)
{
    /// <summary>Adds the bound to <paramref name="p"/> once; the returned SQL pieces all refer to it.</summary>
    public Sql Bind(ChangeSql.Parameters p) => CommitLsn is { } lsn
        ? new Sql(true, p.Add(lsn, NpgsqlDbType.Bigint))
        : new Sql(false, p.Add(At.ToUniversalTime(), NpgsqlDbType.TimestampTz));

    /// <summary>SQL pieces for a table alias.</summary>
    /// <param name="ByLsn">Whether changes count by commit LSN.</param>
    /// <param name="Bound">The bound's placeholder.</param>
    public sealed record Sql(bool ByLsn, string Bound)
    {
        /// <summary>The condition: the change counts.</summary>
        public string Counts(string a) => ByLsn ? $"{a}.commit_lsn <= {Bound}" : $"{a}.committed_at <= {Bound}";

        /// <summary>ORDER BY terms, newest change first.</summary>
        public string NewestFirst(string a) =>
            ByLsn ? $"{a}.commit_lsn DESC, {a}.ordinal DESC" : $"{a}.committed_at DESC, {a}.commit_lsn DESC, {a}.ordinal DESC";

        /// <summary>A row value that compares changes in that order.</summary>
        public string Position(string a) =>
            ByLsn ? $"({a}.commit_lsn, {a}.ordinal)" : $"({a}.committed_at, {a}.commit_lsn, {a}.ordinal)";
    }
}
