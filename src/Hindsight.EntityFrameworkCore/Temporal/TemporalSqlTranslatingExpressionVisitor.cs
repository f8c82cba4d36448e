using System.Diagnostics.CodeAnalysis;
using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Query;
using Microsoft.EntityFrameworkCore.Query.SqlExpressions;
using Npgsql.EntityFrameworkCore.PostgreSQL.Query.Internal;

namespace Hindsight.EntityFrameworkCore.Temporal;

// EF1001: as for the queryable visitor; TryBindMember is the provider's own hook for binding EF.Property.
#pragma warning disable EF1001

/// <summary>
/// Binds <c>EF.Property&lt;DateTime&gt;(e, "PeriodStart")</c> and <c>"PeriodEnd"</c>, which no model property holds
/// (temporal queries add no column to the entity, so its table, SaveChanges and migrations stay as they are): to the
/// period columns of the table the entity's key comes from. The SQL generator refuses them on a table that is not
/// temporal.
/// </summary>
internal sealed class TemporalSqlTranslatingExpressionVisitor(
    RelationalSqlTranslatingExpressionVisitorDependencies dependencies,
    QueryCompilationContext queryCompilationContext,
    QueryableMethodTranslatingExpressionVisitor queryableMethodTranslatingExpressionVisitor)
    : NpgsqlSqlTranslatingExpressionVisitor(dependencies, queryCompilationContext, queryableMethodTranslatingExpressionVisitor)
{
    private readonly QueryCompilationContext _context = queryCompilationContext;

    public override bool TryBindMember(Expression? source, MemberIdentity member, [NotNullWhen(true)] out Expression? expression,
        [NotNullWhen(true)] out IPropertyBase? property)
    {
        if (member.Name is TemporalTable.PeriodStart or TemporalTable.PeriodEnd && source is not null
            && _context.Model.FindEntityType(source.Type) is { } entityType
            && entityType.FindProperty(member.Name) is null
            && entityType.FindPrimaryKey()?.Properties[0] is { } keyProperty
            && base.TryBindMember(source, MemberIdentity.Create(keyProperty.Name), out var keyColumn, out _)
            && keyColumn is ColumnExpression column)
        {
            expression = new ColumnExpression(member.Name, column.TableAlias, typeof(DateTime),
                Dependencies.TypeMappingSource.FindMapping(typeof(DateTime)), nullable: false);
            property = keyProperty; // what was bound to find the table; the caller only needs "bound"
            return true;
        }
        return base.TryBindMember(source, member, out expression, out property);
    }
}

/// <summary>Creates <see cref="TemporalSqlTranslatingExpressionVisitor"/>s (in place of Npgsql's factory).</summary>
internal sealed class TemporalSqlTranslatingExpressionVisitorFactory(RelationalSqlTranslatingExpressionVisitorDependencies dependencies)
    : IRelationalSqlTranslatingExpressionVisitorFactory
{
    public RelationalSqlTranslatingExpressionVisitor Create(QueryCompilationContext queryCompilationContext,
        QueryableMethodTranslatingExpressionVisitor queryableMethodTranslatingExpressionVisitor) =>
        new TemporalSqlTranslatingExpressionVisitor(dependencies, queryCompilationContext, queryableMethodTranslatingExpressionVisitor);
}
