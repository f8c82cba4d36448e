namespace Hindsight.EntityFrameworkCore.Temporal;

/// <summary>Which versions of a row a temporal query reads (the SQL Server provider's operators, and ours).</summary>
internal enum TemporalOperation
{
    /// <summary>Every version.</summary>
    All,

    /// <summary>The version valid at a moment: PeriodStart &lt;= t &lt; PeriodEnd.</summary>
    AsOf,

    /// <summary>Versions valid at some moment of [from, to): PeriodStart &lt; to and PeriodEnd &gt; from.</summary>
    FromTo,

    /// <summary>Versions valid at some moment of [from, to]: PeriodStart &lt;= to and PeriodEnd &gt; from.</summary>
    Between,

    /// <summary>Versions that began and ended within [from, to]: PeriodStart &gt;= from and PeriodEnd &lt;= to.</summary>
    ContainedIn,

    /// <summary>The version valid right after a source transaction committed (by commit LSN, not by time).</summary>
    AsOfTransaction,
}
