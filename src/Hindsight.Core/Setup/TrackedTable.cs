using Hindsight.Postgres;

namespace Hindsight.Setup;

/// <summary>A table in the publication, as PostgreSQL lists it in <c>pg_publication_tables</c>.</summary>
/// <param name="Schema">Schema of the table.</param>
/// <param name="Name">Name of the table (for partitioned tables: the root).</param>
/// <param name="Partitioned">Whether it is a partitioned table; its changes are recorded under this root.</param>
/// <param name="Partitions">Number of leaf partitions under it (0 for a plain table).</param>
/// <param name="ReplicaIdentity">The root's replica identity: full, default, index or nothing.</param>
/// <param name="HasPrimaryKey">Whether it has a primary key (the key of its stored changes).</param>
public sealed record TrackedTable(string Schema, string Name, bool Partitioned, int Partitions, string ReplicaIdentity, bool HasPrimaryKey)
{
    /// <summary><c>schema.name</c>, quoted where PostgreSQL needs it.</summary>
    public string QualifiedName => PgNames.Display(Schema, Name);
}
