using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore.Query;
using Microsoft.EntityFrameworkCore.Query.SqlExpressions;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;
using Npgsql.EntityFrameworkCore.PostgreSQL.Query.Internal;

namespace Hindsight.EntityFrameworkCore.Temporal;

// EF1001: as for the queryable visitor; the provider's generator writes everything but the temporal tables.
#pragma warning disable EF1001

/// <summary>
/// Writes a temporal table (a <see cref="TableExpression"/> marked <see cref="TemporalTable"/>) as a derived table of
/// its versions read from the trail (<see cref="TemporalSql"/>), under the table's alias, with the table's own columns
/// and the period columns; everything else as Npgsql writes it.
/// </summary>
internal sealed class TemporalQuerySqlGenerator(
    QuerySqlGeneratorDependencies dependencies,
    IRelationalTypeMappingSource typeMappingSource,
    bool reverseNullOrderingEnabled,
    Version postgresVersion,
    HindsightTemporalOptions options)
    : NpgsqlQuerySqlGenerator(dependencies, typeMappingSource, reverseNullOrderingEnabled, postgresVersion)
{
    private TemporalScan _scan = TemporalScan.Empty;

    public override IRelationalCommand GetCommand(Expression queryExpression)
    {
        _scan = TemporalScan.Of(queryExpression);
        return base.GetCommand(queryExpression);
    }

    protected override Expression VisitTable(TableExpression tableExpression)
    {
        if (tableExpression.FindAnnotation(TemporalTable.Annotation)?.Value is not TemporalTable temporal)
            return base.VisitTable(tableExpression);
        var helper = Dependencies.SqlGenerationHelper;
        Sql.Append("(");
        var sql = new TemporalSql(options, tableExpression.Schema, tableExpression.Name, temporal,
            _scan.KeyValues.GetValueOrDefault(tableExpression.Alias));
        foreach (var part in sql.Parts())
        {
            if (part.Text is { } text) Sql.Append(text);
            else Visit(part.Expression);
        }
        Sql.Append(")").Append(AliasSeparator).Append(helper.DelimitIdentifier(tableExpression.Alias));
        return tableExpression;
    }

    protected override Expression VisitColumn(ColumnExpression columnExpression)
    {
        if (columnExpression.Name is TemporalTable.PeriodStart or TemporalTable.PeriodEnd
            && _scan.PlainTables.TryGetValue(columnExpression.TableAlias, out var table))
            throw new InvalidOperationException(
                $"{columnExpression.Name} exists only in temporal queries (TemporalAsOf, TemporalAll, …); {table} is read as it is now.");
        return base.VisitColumn(columnExpression);
    }
}

/// <summary>Creates <see cref="TemporalQuerySqlGenerator"/>s (in place of Npgsql's factory).</summary>
internal sealed class TemporalQuerySqlGeneratorFactory(
    QuerySqlGeneratorDependencies dependencies,
    IRelationalTypeMappingSource typeMappingSource,
    INpgsqlSingletonOptions npgsqlSingletonOptions,
    HindsightTemporalOptions options) : IQuerySqlGeneratorFactory
{
    public QuerySqlGenerator Create() =>
        new TemporalQuerySqlGenerator(dependencies, typeMappingSource, npgsqlSingletonOptions.ReverseNullOrderingEnabled,
            npgsqlSingletonOptions.PostgresVersion, options);
}
