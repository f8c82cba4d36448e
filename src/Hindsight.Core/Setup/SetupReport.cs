using Hindsight.Store;
using System.Globalization;
using System.Text;
using Hindsight.Model;
using Hindsight.Postgres;

namespace Hindsight.Setup;

/// <summary>The outcome of <see cref="SetupRunner.RunAsync"/>: what was found and what was done.</summary>
public sealed class SetupReport
{
    /// <summary>The source database's name.</summary>
    public required string Database { get; init; }

    /// <summary>The source's name in the store (what changes, progress and baselines carry, and what queries filter by).</summary>
    public required string Source { get; init; }
    /// <summary>The source server's version (<c>server_version</c>).</summary>
    public required string ServerVersion { get; init; }
    /// <summary>Where the store is, without credentials.</summary>
    public required string Store { get; init; }
    /// <summary>Whether the store is the source database itself.</summary>
    public required bool StoreInSource { get; init; }
    /// <summary>Store schema version before setup (0: no store).</summary>
    public required int StoreVersionBefore { get; init; }
    /// <summary>Store schema version after setup.</summary>
    public required int StoreVersion { get; init; }
    /// <summary>Migrations applied by this run.</summary>
    public required IReadOnlyList<int> MigrationsApplied { get; init; }
    /// <summary>How the store's change table is partitioned after setup.</summary>
    public StorePartitioning? Partitioning { get; init; }
    /// <summary>Changes this run copied into the partitioned table (null: it did not partition an existing store).</summary>
    public long? PartitionedChanges { get; init; }
    /// <summary>How long partitioning the store took, when this run did it.</summary>
    public TimeSpan? PartitioningTook { get; init; }
    /// <summary>The publication's name.</summary>
    public required string Publication { get; init; }
    /// <summary>What happened to the publication.</summary>
    public required PublicationAction PublicationAction { get; init; }
    /// <summary>Schemas published with FOR TABLES IN SCHEMA (tables created there later are followed).</summary>
    public required IReadOnlyList<string> PublishedSchemas { get; init; }
    /// <summary>Whether the publication lists tables one by one (tables created later are not followed).</summary>
    public required bool ExplicitTableList { get; init; }
    /// <summary>The tracked tables, as PostgreSQL lists them; partitioned tables appear once, under their root.</summary>
    public required IReadOnlyList<TrackedTable> Tables { get; init; }
    /// <summary>The replica identity policy used.</summary>
    public required ReplicaIdentityMode ReplicaIdentityMode { get; init; }
    /// <summary>Tables and partitions set to REPLICA IDENTITY FULL by this run.</summary>
    public required IReadOnlyList<string> ReplicaIdentityChanged { get; init; }

    /// <summary>Whether tables created later in the published schemas get their replica identity as they are created
    /// (the event trigger <c>hindsight_new_table_identity</c>; a superuser and a publication of whole schemas).</summary>
    public bool NewTablesGetReplicaIdentity { get; init; }
    /// <summary>Whether schema changes of tracked tables are recorded (the event trigger <c>hindsight_schema_changes</c>;
    /// a superuser).</summary>
    public bool SchemaChangesCaptured { get; init; }
    /// <summary>The slot's name.</summary>
    public required string Slot { get; init; }
    /// <summary>Whether this run created the slot.</summary>
    public required bool SlotCreated { get; init; }
    /// <summary>The slot's consistent point when created, else its confirmed position (<c>0/16B3748</c>).</summary>
    public string? SlotPosition { get; init; }
    /// <summary>What <c>--bemi-compat</c> installed; null when it was not asked for.</summary>
    public BemiCompatReport? BemiCompat { get; init; }
    /// <summary>The baseline of existing rows (<c>--snapshot</c>): taken now or found stored; null when not asked for.</summary>
    public BaselineReport? Baseline { get; init; }
    /// <summary>What <c>--create-roles</c> created and granted (empty when not asked for).</summary>
    public IReadOnlyList<string> Roles { get; init; } = [];
    /// <summary>Who may emit context in the source database: null when every user may (PostgreSQL's default), else these roles (superusers always can).</summary>
    public IReadOnlyList<string>? ContextEmitters { get; init; }
    /// <summary>
    /// Columns of the tracked tables whose values the images will not hold (generated columns the server does not
    /// publish: all of them before PostgreSQL 18, virtual ones on 18). Empty when the images are complete.
    /// </summary>
    public IReadOnlyList<UntrackedColumn> UntrackedColumns { get; init; } = [];
    /// <summary>Things the user should know: what is not followed, which before-images are incomplete.</summary>
    public required IReadOnlyList<string> Notes { get; init; }

    private string PartitionText(StorePartitioning p, CultureInfo inv)
    {
        var text = p.Describe();
        if (p.Partitioned && PartitionedChanges is { } copied)
            text += string.Create(inv, $"; partitioned now, {copied:N0} change{(copied == 1 ? "" : "s")} copied in {PartitioningTook?.TotalSeconds:0.0} s");
        if (p.DefaultPartitionChanges > 0)
            text += string.Create(inv, $"; {p.DefaultPartitionChanges:N0} change(s) in the default partition, outside every period (the worker moves them)");
        return text;
    }

    /// <summary>The report as plain text for a terminal.</summary>
    public string ToText()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"hindsight setup: database {PgNames.DisplayPart(Database)} (PostgreSQL {ServerVersion}), source {Source} in the store");
        sb.Append(inv, $"  store        {(StoreInSource ? "schema hindsight in the source database" : Store)}: ");
        sb.AppendLine(MigrationsApplied.Count == 0
            ? string.Create(inv, $"up to date (schema version {StoreVersion})")
            : string.Create(inv, $"migrated from version {StoreVersionBefore} to {StoreVersion}"));
        if (Partitioning is { } parts) sb.AppendLine("  partitions   " + PartitionText(parts, inv));
        var what = ExplicitTableList
            ? string.Create(inv, $"FOR TABLE ... ({Tables.Count} table{(Tables.Count == 1 ? "" : "s")} listed one by one)")
            : PublishedSchemas.Count == 0 ? "no schemas" : "FOR TABLES IN SCHEMA " + string.Join(", ", PublishedSchemas.Select(PgNames.DisplayPart));
        sb.AppendLine(inv, $"  publication  {PgNames.DisplayPart(Publication)}: {PublicationAction.ToString().ToLowerInvariant()}, {what}, publish_via_partition_root = true");
        sb.AppendLine(inv, $"  slot         {Slot}: {(SlotCreated ? "created" : "exists")}{(SlotPosition is null ? "" : " at " + SlotPosition)} (pgoutput)");
        var identity = ReplicaIdentityMode == ReplicaIdentityMode.Full
            ? "FULL on every tracked table and partition"
            : "left as it was (--replica-identity default)";
        if (ReplicaIdentityChanged.Count > 0)
            identity += string.Create(inv, $"; set to FULL now on {ReplicaIdentityChanged.Count}: {string.Join(", ", ReplicaIdentityChanged)}");
        sb.AppendLine("  replica identity: " + identity);
        sb.AppendLine("  schema       " + (SchemaChangesCaptured
            ? "CREATE, ALTER and DROP TABLE recorded with statement and context (event trigger)"
            : "no event trigger (not a superuser): changes read from pgoutput's relation messages, without statement or context"));
        if (BemiCompat is { } bemi) sb.AppendLine("  bemi compat  " + BemiText(bemi));
        sb.AppendLine("  context      " + (ContextEmitters is null
            ? "any database user may emit context (--trusted-context-roles restricts it; docs/security.md)"
            : "only these roles (and superusers) may emit context: " + string.Join(", ", ContextEmitters.Select(PgNames.DisplayPart))));
        foreach (var role in Roles) sb.AppendLine("  roles        " + role);
        if (Baseline is { } b)
            sb.AppendLine(inv, $"  baseline     {(b.Created ? "taken now" : "stored earlier")}: {b.Rows:N0} rows of {b.Tables.Count} table{(b.Tables.Count == 1 ? "" : "s")} as of {b.Lsn} ({b.TakenAt.UtcDateTime:yyyy-MM-dd HH:mm:ss.ffffff}Z); as-of is complete from then on");
        sb.AppendLine(inv, $"tracked tables ({Tables.Count}):");
        if (Tables.Count == 0) sb.AppendLine("  (none yet)");
        var width = Tables.Count == 0 ? 0 : Tables.Max(t => t.QualifiedName.Length);
        foreach (var t in Tables)
        {
            var details = new List<string>();
            if (t.Partitioned) details.Add(string.Create(inv, $"partitioned, {t.Partitions} partition{(t.Partitions == 1 ? "" : "s")} recorded under this root"));
            details.Add("replica identity " + t.ReplicaIdentity);
            if (!t.HasPrimaryKey) details.Add("no primary key");
            var missing = UntrackedColumns.Where(c => c.Schema == t.Schema && c.Table == t.Name).ToList();
            if (missing.Count > 0)
                details.Add("not in images: " + string.Join(", ", missing.Select(c => $"{PgNames.DisplayPart(c.Column)} ({Model.UntrackedReasons.Name(c.Reason)})")));
            if (Baseline?.Tables.FirstOrDefault(x => x.Schema == t.Schema && x.Table == t.Name) is { } inBaseline)
                details.Add(string.Create(inv, $"baseline {inBaseline.Rows:N0} row{(inBaseline.Rows == 1 ? "" : "s")}"));
            sb.AppendLine(inv, $"  {t.QualifiedName.PadRight(width)}  {string.Join("; ", details)}");
        }
        if (Notes.Count > 0)
        {
            sb.AppendLine("notes:");
            foreach (var n in Notes)
            {
                var lines = n.Split('\n');
                sb.AppendLine("  - " + lines[0]);
                foreach (var l in lines.Skip(1)) sb.AppendLine("    " + l);
            }
        }
        return sb.ToString();
    }

    private static string BemiText(BemiCompatReport b)
    {
        var inv = CultureInfo.InvariantCulture;
        var functions = b.Functions switch
        {
            BemiObjectAction.Created => "functions created",
            BemiObjectAction.Updated => "functions updated",
            _ => "functions in place",
        };
        var eventTrigger = b.EventTrigger switch
        {
            BemiObjectAction.Created => "event trigger for new tables created",
            BemiObjectAction.Updated => "event trigger for new tables replaced",
            BemiObjectAction.Unchanged => "event trigger for new tables in place",
            _ => "no event trigger (not a superuser)",
        };
        var triggers = b.TriggersInstalled.Count == 0
            ? string.Create(inv, $"statement trigger already on all {b.TriggersInPlace.Count} tables and partitions")
            : string.Create(inv, $"statement trigger installed now on {b.TriggersInstalled.Count}: {string.Join(", ", b.TriggersInstalled)} ({b.TriggersInPlace.Count} in all)");
        return $"{functions}; {eventTrigger}; {triggers}";
    }
}
