using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore.Query.SqlExpressions;

namespace Hindsight.EntityFrameworkCore.Temporal;

/// <summary>
/// What the SQL generator needs to know of a whole query before it writes it: which aliases are plain tables (a period
/// column there is a mistake), and, per temporal table, the key its SELECT's WHERE asks for, if any (<c>o.id = @p</c>;
/// for a composite key of integers, every part): the trail is then read by that key alone (an index range), not the
/// whole table's history.
/// </summary>
internal sealed class TemporalScan : ExpressionVisitor
{
    public static readonly TemporalScan Empty = new();

    /// <summary>Plain tables by alias (their names, for the error).</summary>
    public Dictionary<string, string> PlainTables { get; } = [];

    /// <summary>Key values asked for, by temporal table alias: one per key column, in key order.</summary>
    public Dictionary<string, IReadOnlyList<SqlExpression>> KeyValues { get; } = [];

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

    // One-column key types whose stored text (the value's text output) is what `value::text` gives in any session.
    private static readonly HashSet<Type> TextExactKeyTypes = [typeof(short), typeof(int), typeof(long), typeof(string), typeof(Guid)];

    // Composite key parts stored as bare JSON numbers (the text output, unquoted): integers.
    private static readonly HashSet<Type> IntegerKeyTypes = [typeof(short), typeof(int), typeof(long)];

    private static IReadOnlyList<SqlExpression>? KeyValue(SqlExpression? predicate, string alias, TemporalTable temporal)
    {
        var key = temporal.KeyColumns;
        if (predicate is null || key.Count == 0) return null;
        if (key.Count == 1 ? !TextExactKeyTypes.Contains(key[0].ClrType) : !key.All(k => IntegerKeyTypes.Contains(k.ClrType))) return null;
        var values = new SqlExpression?[key.Count];
        foreach (var conjunct in Conjuncts(predicate))
        {
            if (conjunct is not SqlBinaryExpression { OperatorType: ExpressionType.Equal } eq) continue;
            for (var i = 0; i < key.Count; i++)
            {
                if (IsColumn(eq.Left, key[i].Column) && IsValue(eq.Right)) values[i] ??= eq.Right;
                else if (IsColumn(eq.Right, key[i].Column) && IsValue(eq.Left)) values[i] ??= eq.Left;
            }
        }
        return values.All(v => v is not null) ? values.Select(v => v!).ToList() : null;

        bool IsColumn(SqlExpression e, string column) => e is ColumnExpression c && c.TableAlias == alias && c.Name == column;
        static bool IsValue(SqlExpression e) => e is SqlParameterExpression or SqlConstantExpression { Value: not null };
    }

    private static IEnumerable<SqlExpression> Conjuncts(SqlExpression e) =>
        e is SqlBinaryExpression { OperatorType: ExpressionType.AndAlso } and ? Conjuncts(and.Left).Concat(Conjuncts(and.Right)) : [e];
}
