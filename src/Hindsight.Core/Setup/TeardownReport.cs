using System.Globalization;
using System.Text;
using Hindsight.Postgres;

namespace Hindsight.Setup;

/// <summary>What <see cref="TeardownRunner.RunAsync"/> did.</summary>
public sealed class TeardownReport
{
    /// <summary>The source database's name.</summary>
    public required string Database { get; init; }
    /// <summary>The slot's name.</summary>
    public required string Slot { get; init; }
    /// <summary>Whether the slot existed and was dropped.</summary>
    public required bool SlotDropped { get; init; }
    /// <summary>Process ids of walsenders terminated because of <see cref="TeardownOptions.Force"/>.</summary>
    public required IReadOnlyList<int> TerminatedPids { get; init; }
    /// <summary>The publication's name.</summary>
    public required string Publication { get; init; }
    /// <summary>Whether the publication existed and was dropped.</summary>
    public required bool PublicationDropped { get; init; }
    /// <summary>Whether purging was asked for.</summary>
    public required bool PurgeRequested { get; init; }
    /// <summary>Whether the <c>hindsight</c> schema was dropped.</summary>
    public required bool StoreSchemaDropped { get; init; }
    /// <summary>Stored changes deleted when only this source's rows were removed from a shared store (else 0).</summary>
    public required long ChangesDeleted { get; init; }
    /// <summary>Whether Bemi compatibility (<c>setup --bemi-compat</c>) was found and removed.</summary>
    public bool BemiCompatRemoved { get; init; }
    /// <summary>Tables and partitions whose Bemi context trigger was dropped.</summary>
    public IReadOnlyList<string> BemiTriggersRemoved { get; init; } = [];
    /// <summary>Remarks for the user.</summary>
    public required IReadOnlyList<string> Notes { get; init; }

    /// <summary>The report as plain text for a terminal.</summary>
    public string ToText()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"hindsight teardown: database {PgNames.DisplayPart(Database)}");
        var terminated = TerminatedPids.Count == 0 ? "" : "; terminated walsender pid " + string.Join(", ", TerminatedPids);
        sb.AppendLine(inv, $"  slot         {Slot}: {(SlotDropped ? "dropped" : "not found (nothing to drop)")}{terminated}");
        sb.AppendLine(inv, $"  publication  {PgNames.DisplayPart(Publication)}: {(PublicationDropped ? "dropped" : "not found (nothing to drop)")}");
        if (BemiCompatRemoved)
            sb.AppendLine(inv, $"  bemi compat  removed: event trigger, functions and the trigger on {BemiTriggersRemoved.Count} table{(BemiTriggersRemoved.Count == 1 ? "" : "s")}");
        if (PurgeRequested)
            sb.AppendLine("  store        " + (StoreSchemaDropped ? "schema hindsight dropped with every stored change"
                : ChangesDeleted > 0 ? string.Create(inv, $"deleted this database's {ChangesDeleted} stored changes (the store is shared)")
                : "nothing to purge"));
        else
            sb.AppendLine("  store        kept (stored changes stay queryable; --purge removes them)");
        foreach (var n in Notes) sb.AppendLine("  note: " + n);
        return sb.ToString();
    }
}
