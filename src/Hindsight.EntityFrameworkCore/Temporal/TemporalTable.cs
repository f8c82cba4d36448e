using Microsoft.EntityFrameworkCore.Query.SqlExpressions;

namespace Hindsight.EntityFrameworkCore.Temporal;

/// <summary>
/// What turns a table of a query into its versions from the trail: the annotation a temporal root puts on its
/// <see cref="TableExpression"/>s, read when the SQL is generated (the arguments are translated SQL: parameters).
/// </summary>
/// <param name="Operation">Which versions.</param>
/// <param name="From">The moment, the range's start, or the transaction id.</param>
/// <param name="To">The range's end.</param>
/// <param name="WrittenBy">A JSON object the version's context contains.</param>
/// <param name="KeyColumns">The table's key columns (the entity's primary key), in key order, with their CLR types.</param>
internal sealed record TemporalTable(TemporalOperation Operation, SqlExpression? From, SqlExpression? To, SqlExpression? WrittenBy,
    IReadOnlyList<(string Column, Type ClrType)> KeyColumns)
{
    /// <summary>The annotation's name.</summary>
    public const string Annotation = "Hindsight:Temporal";

    /// <summary>The period columns a temporal table adds to the table's own.</summary>
    public const string PeriodStart = "PeriodStart", PeriodEnd = "PeriodEnd";
}
