using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Query;

namespace Hindsight.EntityFrameworkCore.Temporal;

/// <summary>
/// Navigations of a temporal query: Include (and navigation access) of an AsOf or AsOfTransaction query read the
/// related entities at the same moment; the other operators return several versions of a row, which have no one
/// related version, and are refused, as on SQL Server.
/// </summary>
internal sealed class TemporalNavigationExpansionExtensibilityHelper(NavigationExpansionExtensibilityHelperDependencies dependencies)
    : NavigationExpansionExtensibilityHelper(dependencies)
{
    public override EntityQueryRootExpression CreateQueryRoot(IEntityType entityType, EntityQueryRootExpression? source) =>
        source is TemporalQueryRootExpression { Operation: TemporalOperation.AsOf or TemporalOperation.AsOfTransaction } root
            ? root.For(entityType)
            : base.CreateQueryRoot(entityType, source);

    public override void ValidateQueryRootCreation(IEntityType entityType, EntityQueryRootExpression? source)
    {
        if (source is TemporalQueryRootExpression { Operation: not (TemporalOperation.AsOf or TemporalOperation.AsOfTransaction) } root
            && !SharesTable(entityType, root.EntityType))
            throw new InvalidOperationException(
                $"Navigations of a Temporal{root.Operation} query of {root.EntityType.DisplayName()} cannot be expanded: only TemporalAsOf and "
                + "TemporalAsOfTransaction read related entities at the same moment.");
        base.ValidateQueryRootCreation(entityType, source);
    }

    public override bool AreQueryRootsCompatible(EntityQueryRootExpression? first, EntityQueryRootExpression? second)
    {
        if (!base.AreQueryRootsCompatible(first, second)) return false;
        if (first is TemporalQueryRootExpression a && second is TemporalQueryRootExpression b)
            return a.Operation == b.Operation && Equals(a.From?.ToString(), b.From?.ToString()) && Equals(a.To?.ToString(), b.To?.ToString());
        return first is not TemporalQueryRootExpression && second is not TemporalQueryRootExpression;
    }

    // Owned types in the owner's table come with the owner's row.
    private static bool SharesTable(IEntityType entityType, IEntityType owner) =>
        entityType.IsOwned() && entityType.GetTableMappings().FirstOrDefault()?.Table is { } t
        && owner.GetTableMappings().FirstOrDefault()?.Table == t;
}
