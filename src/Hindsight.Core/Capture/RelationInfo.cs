using Hindsight.Capture.Rendering;

namespace Hindsight.Capture;

/// <summary>A published table as the replication stream describes it, with its real primary key from the catalog.</summary>
/// <param name="Id">The relation's OID.</param>
/// <param name="Schema">Schema name.</param>
/// <param name="Table">Table name (the partition root when publishing via the root).</param>
/// <param name="Columns">Columns in the order tuples carry them.</param>
/// <param name="PrimaryKey">Indexes into <paramref name="Columns"/> of the primary key, in key order; empty when none.</param>
/// <param name="ReplicaIdentityFull">Whether old tuples carry every column.</param>
internal sealed record RelationInfo(
    uint Id, string Schema, string Table, IReadOnlyList<RelationColumn> Columns, int[] PrimaryKey, bool ReplicaIdentityFull);

/// <summary>One column of a <see cref="RelationInfo"/>.</summary>
internal sealed record RelationColumn(string Name, PgTypeInfo Type);
