using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Query;
using Microsoft.EntityFrameworkCore.Query.SqlExpressions;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;
using Npgsql.EntityFrameworkCore.PostgreSQL.Query.Internal;

namespace Hindsight.EntityFrameworkCore.Temporal;

// EF1001: the provider's visitor lives in an .Internal namespace; deriving from it keeps every Npgsql translation and
// adds one case, as EF Core's SQL Server provider does for its temporal roots.
#pragma warning disable EF1001

/// <summary>
/// Translates a <see cref="TemporalQueryRootExpression"/>: the entity's usual SELECT, with each of its tables marked
/// (<see cref="TemporalTable"/>) so the SQL generator reads the table's versions from the trail instead.
/// </summary>
internal sealed class TemporalQueryableMethodTranslatingExpressionVisitor : NpgsqlQueryableMethodTranslatingExpressionVisitor
{
    public TemporalQueryableMethodTranslatingExpressionVisitor(
        QueryableMethodTranslatingExpressionVisitorDependencies dependencies,
        RelationalQueryableMethodTranslatingExpressionVisitorDependencies relationalDependencies,
        RelationalQueryCompilationContext queryCompilationContext,
        INpgsqlSingletonOptions npgsqlSingletonOptions)
        : base(dependencies, relationalDependencies, queryCompilationContext, npgsqlSingletonOptions)
    {
    }

    private TemporalQueryableMethodTranslatingExpressionVisitor(TemporalQueryableMethodTranslatingExpressionVisitor parent)
        : base(parent)
    {
    }

    protected override QueryableMethodTranslatingExpressionVisitor CreateSubqueryVisitor() =>
        new TemporalQueryableMethodTranslatingExpressionVisitor(this);

    protected override Expression VisitExtension(Expression extensionExpression)
    {
        if (extensionExpression is not TemporalQueryRootExpression root) return base.VisitExtension(extensionExpression);

        var entityType = root.EntityType;
        var select = CreateSelect(entityType);
        var temporal = new TemporalTable(root.Operation, Argument(root, root.From), Argument(root, root.To), Argument(root, root.WrittenBy),
            KeyColumns(entityType));
        select = (SelectExpression)new Marker(temporal).Visit(select)!;
        return new ShapedQueryExpression(select,
            new RelationalStructuralTypeShaperExpression(entityType,
                new ProjectionBindingExpression(select, new ProjectionMember(), typeof(ValueBuffer)), false));
    }

    private SqlExpression? Argument(TemporalQueryRootExpression root, Expression? argument)
    {
        if (argument is null) return null;
        return TranslateExpression(argument)
            ?? throw new InvalidOperationException($"The argument {argument} of Temporal{root.Operation} could not be translated to SQL.");
    }

    private static List<(string, Type)> KeyColumns(IEntityType entityType)
    {
        var key = entityType.FindPrimaryKey();
        if (key is null) return [];
        var table = StoreObjectIdentifier.Create(entityType, StoreObjectType.Table);
        return [.. key.Properties.Select(p => (table is { } t ? p.GetColumnName(t) ?? p.GetColumnName() : p.GetColumnName(), StoredType(p)))];
    }

    // The CLR type the column holds (after a value converter), without Nullable<>.
    private static Type StoredType(IProperty p)
    {
        var type = p.GetProviderClrType() ?? p.ClrType;
        return Nullable.GetUnderlyingType(type) ?? type;
    }

    /// <summary>Marks every table of the entity's SELECT (several for a TPT hierarchy).</summary>
    private sealed class Marker(TemporalTable temporal) : ExpressionVisitor
    {
        public override Expression? Visit(Expression? node) =>
            node is TableExpression table ? table.AddAnnotation(TemporalTable.Annotation, temporal) : base.Visit(node);
    }
}

/// <summary>Creates <see cref="TemporalQueryableMethodTranslatingExpressionVisitor"/>s (in place of Npgsql's factory).</summary>
internal sealed class TemporalQueryableMethodTranslatingExpressionVisitorFactory(
    QueryableMethodTranslatingExpressionVisitorDependencies dependencies,
    RelationalQueryableMethodTranslatingExpressionVisitorDependencies relationalDependencies,
    INpgsqlSingletonOptions npgsqlSingletonOptions) : IQueryableMethodTranslatingExpressionVisitorFactory
{
    public QueryableMethodTranslatingExpressionVisitor Create(QueryCompilationContext queryCompilationContext) =>
        new TemporalQueryableMethodTranslatingExpressionVisitor(dependencies, relationalDependencies,
            (RelationalQueryCompilationContext)queryCompilationContext, npgsqlSingletonOptions);
}
