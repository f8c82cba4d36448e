using Hindsight.EntityFrameworkCore.Temporal;
using System.Linq.Expressions;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Query;

namespace Hindsight.EntityFrameworkCore;

/// <summary>
/// Time travel over an entity's table, read from the Hindsight trail: the operators of EF Core's SQL Server provider
/// (<c>TemporalAsOf</c>, <c>TemporalAll</c>, <c>TemporalFromTo</c>, <c>TemporalBetween</c>, <c>TemporalContainedIn</c>),
/// with the same names and boundaries, plus <see cref="TemporalAsOfTransaction{TEntity}"/> and
/// <see cref="WrittenBy{TEntity}"/>. Requires <c>UseHindsightTemporal()</c> on the context's options.
/// </summary>
/// <remarks>
/// <para>A version of a row is valid over [PeriodStart, PeriodEnd): from the commit that wrote it to the commit of the
/// row's next change (or TRUNCATE), or <see cref="DateTime.MaxValue"/> while it is current. Read both with
/// <c>EF.Property&lt;DateTime&gt;(e, "PeriodStart")</c> and <c>EF.Property&lt;DateTime&gt;(e, "PeriodEnd")</c>.</para>
/// <para>As on SQL Server, a version with no duration (a row changed again in the same transaction) is never
/// returned. Results compose with Where, OrderBy, Select, Skip/Take and Count, run in PostgreSQL, and are not
/// tracked.</para>
/// </remarks>
public static class HindsightTemporalExtensions
{
    /// <summary>The rows as they were at <paramref name="utcPointInTime"/> (PeriodStart &lt;= t &lt; PeriodEnd).</summary>
    /// <param name="source">The entity's set.</param>
    /// <param name="utcPointInTime">The moment, in UTC (a local time is converted; an unspecified kind is taken as UTC).</param>
    public static IQueryable<TEntity> TemporalAsOf<TEntity>(this DbSet<TEntity> source, DateTime utcPointInTime)
        where TEntity : class =>
        Root(source, TemporalOperation.AsOf, Captured(Utc(utcPointInTime)), null);

    /// <summary>Every version of every row the trail holds.</summary>
    /// <param name="source">The entity's set.</param>
    public static IQueryable<TEntity> TemporalAll<TEntity>(this DbSet<TEntity> source)
        where TEntity : class =>
        Root(source, TemporalOperation.All, null, null);

    /// <summary>The versions valid at some moment from <paramref name="utcFrom"/> up to, not including,
    /// <paramref name="utcTo"/> (PeriodStart &lt; to and PeriodEnd &gt; from).</summary>
    /// <param name="source">The entity's set.</param>
    /// <param name="utcFrom">The start, in UTC.</param>
    /// <param name="utcTo">The end, in UTC.</param>
    public static IQueryable<TEntity> TemporalFromTo<TEntity>(this DbSet<TEntity> source, DateTime utcFrom, DateTime utcTo)
        where TEntity : class =>
        Root(source, TemporalOperation.FromTo, Captured(Utc(utcFrom)), Captured(Utc(utcTo)));

    /// <summary>The versions valid at some moment from <paramref name="utcFrom"/> to <paramref name="utcTo"/>, both
    /// included (PeriodStart &lt;= to and PeriodEnd &gt; from).</summary>
    /// <param name="source">The entity's set.</param>
    /// <param name="utcFrom">The start, in UTC.</param>
    /// <param name="utcTo">The end, in UTC.</param>
    public static IQueryable<TEntity> TemporalBetween<TEntity>(this DbSet<TEntity> source, DateTime utcFrom, DateTime utcTo)
        where TEntity : class =>
        Root(source, TemporalOperation.Between, Captured(Utc(utcFrom)), Captured(Utc(utcTo)));

    /// <summary>The versions that began and ended within [<paramref name="utcFrom"/>, <paramref name="utcTo"/>]
    /// (PeriodStart &gt;= from and PeriodEnd &lt;= to).</summary>
    /// <param name="source">The entity's set.</param>
    /// <param name="utcFrom">The start, in UTC.</param>
    /// <param name="utcTo">The end, in UTC.</param>
    public static IQueryable<TEntity> TemporalContainedIn<TEntity>(this DbSet<TEntity> source, DateTime utcFrom, DateTime utcTo)
        where TEntity : class =>
        Root(source, TemporalOperation.ContainedIn, Captured(Utc(utcFrom)), Captured(Utc(utcTo)));

    /// <summary>
    /// The rows as they were right after the source transaction <paramref name="transactionId"/> committed: by commit
    /// order, so a transaction that committed in the same microsecond as another still comes apart from it. No rows if
    /// the trail holds no change of that transaction.
    /// </summary>
    /// <param name="source">The entity's set.</param>
    /// <param name="transactionId">The source transaction's id (a change's <c>transaction_id</c>).</param>
    public static IQueryable<TEntity> TemporalAsOfTransaction<TEntity>(this DbSet<TEntity> source, long transactionId)
        where TEntity : class =>
        Root(source, TemporalOperation.AsOfTransaction, Captured(transactionId), null);

    /// <summary>
    /// Only the versions written with a context that contains <paramref name="context"/> (jsonb containment): for
    /// example <c>db.Orders.TemporalAll().WrittenBy(new { role = "support" })</c>. Applies directly to a temporal
    /// operator's result; the periods stay those of the whole history.
    /// </summary>
    /// <param name="source">A temporal operator's result.</param>
    /// <param name="context">A JSON object (a string), or an object serialized as one.</param>
    public static IQueryable<TEntity> WrittenBy<TEntity>(this IQueryable<TEntity> source, object context)
        where TEntity : class
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(context);
        var json = context as string ?? JsonSerializer.Serialize(context, context.GetType());
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new ArgumentException($"WrittenBy needs a JSON object, not {doc.RootElement.ValueKind}: {json}", nameof(context));
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"WrittenBy needs a JSON object: {e.Message}", nameof(context), e);
        }
        var (root, rebuild) = FindRoot(source.Expression);
        if (root is null)
            throw new InvalidOperationException(
                "WrittenBy applies directly to a temporal operator's result, for example db.Orders.TemporalAll().WrittenBy(new { user = \"ada\" }).");
        if (root.WrittenBy is not null)
            throw new InvalidOperationException("WrittenBy was given twice; give one object with every property the context must contain.");
        return source.Provider.CreateQuery<TEntity>(rebuild(root.WrittenByContext(Captured(json))));
    }

    // The operator's result is the root, or AsNoTracking of it.
    private static (TemporalQueryRootExpression? Root, Func<Expression, Expression> Rebuild) FindRoot(Expression e) => e switch
    {
        TemporalQueryRootExpression root => (root, x => x),
        MethodCallExpression { Arguments: [TemporalQueryRootExpression root, ..] } call =>
            (root, x => call.Update(call.Object, [x, .. call.Arguments.Skip(1)])),
        _ => (null, x => x),
    };

    private static IQueryable<TEntity> Root<TEntity>(DbSet<TEntity> source, TemporalOperation operation, Expression? from, Expression? to)
        where TEntity : class
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.GetService<IDbContextOptions>().FindExtension<HindsightTemporalOptionsExtension>() is null)
            throw new InvalidOperationException(
                $"Temporal{operation} reads the Hindsight trail: add UseHindsightTemporal() to the context's options (after UseNpgsql).");
        var queryable = (IQueryable)source;
        var entityRoot = (EntityQueryRootExpression)queryable.Expression;
        var root = new TemporalQueryRootExpression(entityRoot.QueryProvider!, entityRoot.EntityType, operation, from, to, null);
        return queryable.Provider.CreateQuery<TEntity>(root).AsNoTracking();
    }

    private static DateTime Utc(DateTime t) => t.Kind switch
    {
        DateTimeKind.Local => t.ToUniversalTime(),
        DateTimeKind.Unspecified => DateTime.SpecifyKind(t, DateTimeKind.Utc),
        _ => t,
    };

    // A value as a captured variable: EF Core makes it a query parameter, so the compiled query is reused.
    private static Expression Captured<T>(T value)
    {
        Expression<Func<T>> read = () => value;
        return read.Body;
    }
}
