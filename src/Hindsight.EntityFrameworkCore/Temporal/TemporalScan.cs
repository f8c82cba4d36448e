using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore.Query.SqlExpressions;

namespace Hindsight.EntityFrameworkCore.Temporal;

/// <summary>
/// What the SQL generator needs to know of a whole query before it writes it: which aliases are plain tables (a period
/// column there is a mistake), and, per temporal table, the key value its SELECT's WHERE asks for, if any
/// (<c>o.id = @p</c>): the trail is then read by that key alone (an index range), not the whole table's history.
/// </summary>
internal sealed class TemporalScan : ExpressionVisitor
{
    public static readonly TemporalScan Empty = new();

    /// <summary>Plain tables by alias (their names, for the error).</summary>
    public Dictionary<string, string> PlainTables { get; } = [];

    /// <summary>Key values asked for, by temporal table alias.</summary>
    public Dictionary<string, SqlExpression> KeyValues { get; } = [];

    public static TemporalScan Of(Expression query)
    {
        var scan = new TemporalScan();
        scan.Visit(query);
        return scan;
    }

    protected override Expression VisitExtension(Expression node)
    {
        switch (node)
        {
            case TableExpression table when table.FindAnnotation(TemporalTable.Annotation) is null:
                PlainTables[table.Alias] = table.Schema is null ? table.Name : $"{table.Schema}.{table.Name}";
                return node;
            case SelectExpression select:
                foreach (var t in select.Tables)
                    if (t is TableExpression table && table.FindAnnotation(TemporalTable.Annotation)?.Value is TemporalTable temporal
                        && KeyValue(select.Predicate, table.Alias, temporal) is { } value)
                        KeyValues[table.Alias] = value;
                break;
        }
        return base.VisitExtension(node);
    }

    // Key types whose stored text (the value's text output) is what `value::text` gives in any session.
    private static readonly HashSet<Type> TextExactKeyTypes = [typeof(short), typeof(int), typeof(long), typeof(string), typeof(Guid)];

    private static SqlExpression? KeyValue(SqlExpression? predicate, string alias, TemporalTable temporal)
    {
        if (predicate is null || temporal.KeyColumns is not [var (column, clrType)] || !TextExactKeyTypes.Contains(clrType)) return null;
        foreach (var conjunct in Conjuncts(predicate))
        {
            if (conjunct is not SqlBinaryExpression { OperatorType: ExpressionType.Equal } eq) continue;
            if (IsKey(eq.Left) && IsValue(eq.Right)) return eq.Right;
            if (IsKey(eq.Right) && IsValue(eq.Left)) return eq.Left;
        }
        return null;

        bool IsKey(SqlExpression e) => e is ColumnExpression c && c.TableAlias == alias && c.Name == column;
        static bool IsValue(SqlExpression e) => e is SqlParameterExpression or SqlConstantExpression { Value: not null };
    }

    private static IEnumerable<SqlExpression> Conjuncts(SqlExpression e) =>
        e is SqlBinaryExpression { OperatorType: ExpressionType.AndAlso } and ? Conjuncts(and.Left).Concat(Conjuncts(and.Right)) : [e];
}
