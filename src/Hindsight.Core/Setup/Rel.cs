using Hindsight.Postgres;

namespace Hindsight.Setup;

/// <summary>A relation as setup sees it.</summary>
internal sealed record Rel(uint Oid, uint SchemaOid, string Schema, string Name, char Kind, bool IsPartition, char Persistence,
    char ReplicaIdentity, bool HasPrimaryKey, uint RootOid, string RootSchema, string RootName)
{
    public string Display => PgNames.Display(Schema, Name);
    public string RootDisplay => PgNames.Display(RootSchema, RootName);
}
