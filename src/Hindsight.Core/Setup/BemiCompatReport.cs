
namespace Hindsight.Setup;

/// <summary>The Bemi-compatibility part of <see cref="SetupReport"/>.</summary>
public sealed class BemiCompatReport
{
    /// <summary>The functions in schema <c>hindsight</c> of the source database.</summary>
    public required BemiObjectAction Functions { get; init; }
    /// <summary>The event trigger that gives tables created later the trigger.</summary>
    public required BemiObjectAction EventTrigger { get; init; }
    /// <summary>Tables and partitions that got the statement trigger in this run.</summary>
    public required IReadOnlyList<string> TriggersInstalled { get; init; }
    /// <summary>Every table and partition that has the statement trigger after this run.</summary>
    public required IReadOnlyList<string> TriggersInPlace { get; init; }
}
