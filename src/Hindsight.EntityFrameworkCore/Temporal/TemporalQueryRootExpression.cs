using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Query;

namespace Hindsight.EntityFrameworkCore.Temporal;

/// <summary>
/// The root of a temporal query: an entity type read from the trail rather than from its table. Its arguments are
/// expressions (a captured value each), so EF Core turns them into parameters before caching the query: a new moment
/// reuses the compiled query instead of compiling another (SQL Server's provider keeps them as constants).
/// </summary>
internal sealed class TemporalQueryRootExpression : EntityQueryRootExpression
{
    public TemporalQueryRootExpression(IAsyncQueryProvider provider, IEntityType entityType, TemporalOperation operation,
        Expression? from, Expression? to, Expression? writtenBy)
        : base(provider, entityType)
    {
        Operation = operation;
        From = from;
        To = to;
        WrittenBy = writtenBy;
    }

    private TemporalQueryRootExpression(IEntityType entityType, TemporalOperation operation, Expression? from, Expression? to,
        Expression? writtenBy)
        : base(entityType)
    {
        Operation = operation;
        From = from;
        To = to;
        WrittenBy = writtenBy;
    }

    /// <summary>Which versions.</summary>
    public TemporalOperation Operation { get; }

    /// <summary>The moment (AsOf), the start of the range, or the transaction id (AsOfTransaction).</summary>
    public Expression? From { get; }

    /// <summary>The end of the range.</summary>
    public Expression? To { get; }

    /// <summary>A JSON object the version's context must contain (jsonb <c>@&gt;</c>), or null.</summary>
    public Expression? WrittenBy { get; }

    /// <summary>The same operation on another entity type (navigations expanded from an AsOf query).</summary>
    public TemporalQueryRootExpression For(IEntityType entityType) => With(entityType, From, To, WrittenBy);

    /// <summary>The same operation, reading only the versions whose context contains <paramref name="writtenBy"/>.</summary>
    public TemporalQueryRootExpression WrittenByContext(Expression writtenBy) => With(EntityType, From, To, writtenBy);

    // A copy with the query provider, if this root has one.
    private TemporalQueryRootExpression With(IEntityType entityType, Expression? from, Expression? to, Expression? writtenBy) =>
        QueryProvider is { } provider
            ? new TemporalQueryRootExpression(provider, entityType, Operation, from, to, writtenBy)
            : new TemporalQueryRootExpression(entityType, Operation, from, to, writtenBy);

    public override Expression DetachQueryProvider() => new TemporalQueryRootExpression(EntityType, Operation, From, To, WrittenBy);

    public override EntityQueryRootExpression UpdateEntityType(IEntityType entityType) =>
        entityType.ClrType != EntityType.ClrType || entityType.Name != EntityType.Name
            ? throw new InvalidOperationException($"A temporal query of {EntityType.DisplayName()} cannot become one of {entityType.DisplayName()}.")
            : new TemporalQueryRootExpression(entityType, Operation, From, To, WrittenBy);

    protected override Expression VisitChildren(ExpressionVisitor visitor)
    {
        var from = From is null ? null : visitor.Visit(From);
        var to = To is null ? null : visitor.Visit(To);
        var writtenBy = WrittenBy is null ? null : visitor.Visit(WrittenBy);
        return from == From && to == To && writtenBy == WrittenBy ? this : With(EntityType, from, to, writtenBy);
    }

    protected override void Print(ExpressionPrinter expressionPrinter)
    {
        base.Print(expressionPrinter);
        expressionPrinter.Append($".Temporal{Operation}(");
        if (From is not null) expressionPrinter.Visit(From);
        if (To is not null)
        {
            expressionPrinter.Append(", ");
            expressionPrinter.Visit(To);
        }
        if (WrittenBy is not null)
        {
            expressionPrinter.Append(", writtenBy: ");
            expressionPrinter.Visit(WrittenBy);
        }
        expressionPrinter.Append(")");
    }

    public override bool Equals(object? obj) =>
        obj is TemporalQueryRootExpression other && (ReferenceEquals(this, other)
            || base.Equals(other) && Operation == other.Operation
            && ExpressionEqualityComparer.Instance.Equals(From, other.From)
            && ExpressionEqualityComparer.Instance.Equals(To, other.To)
            && ExpressionEqualityComparer.Instance.Equals(WrittenBy, other.WrittenBy));

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(base.GetHashCode());
        hash.Add(Operation);
        hash.Add(From, ExpressionEqualityComparer.Instance);
        hash.Add(To, ExpressionEqualityComparer.Instance);
        hash.Add(WrittenBy, ExpressionEqualityComparer.Instance);
        return hash.ToHashCode();
    }
}
