namespace Hindsight.Setup;

/// <summary>A schema: oid and name.</summary>
internal sealed record SchemaRef(uint Oid, string Name);
