using Hindsight.Model;

namespace Hindsight.Revert;

/// <summary>
/// The order a rollback's phases take its tables in, from the foreign keys among them (<c>pg_constraint</c>): parents before
/// children, and which tables are referenced by another chosen table (or by themselves). This is the plan's first order;
/// <see cref="RevertOrder"/> then orders its statements row by row (self-references and cycles included).
/// </summary>
/// <param name="ParentsFirst">The tables, each after every chosen table it references (given order otherwise; a cycle in given order).</param>
/// <param name="Referenced">Tables a chosen table references: their rows are deleted only after the children moved off them.</param>
internal sealed record RollbackOrder(IReadOnlyList<TableName> ParentsFirst, IReadOnlySet<TableName> Referenced)
{
    /// <summary>The order of <paramref name="tables"/> for the foreign keys among them (<see cref="ForeignKey.LoadAsync"/>).</summary>
    public static RollbackOrder From(IReadOnlyList<TableName> tables, IReadOnlyList<ForeignKey> keys)
    {
        var parents = tables.ToDictionary(t => t, _ => new HashSet<TableName>());
        foreach (var k in keys) parents[k.Child].Add(k.Parent);

        // Kahn's algorithm, keeping the given order among tables that are free at the same time.
        var order = new List<TableName>();
        var left = tables.ToList();
        while (left.Count > 0)
        {
            var next = left.FirstOrDefault(t => parents[t].All(p => p == t || order.Contains(p)));
            if (next is null)
            {
                // Tables that reference each other: the row-level order (RevertOrder) sorts their rows out.
                order.AddRange(left);
                break;
            }
            order.Add(next);
            left.Remove(next);
        }
        return new RollbackOrder(order, parents.Values.SelectMany(p => p).ToHashSet());
    }
}
