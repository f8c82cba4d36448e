using Hindsight.Context;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore.Update;
using Npgsql.EntityFrameworkCore.PostgreSQL.Update.Internal;

namespace Hindsight.EntityFrameworkCore;

// EF1001: deriving from the Npgsql provider's batch (an .Internal type) keeps its SQL generation, parameters and
// limits; only the command's first statement and the reading of results change. See HindsightModificationCommandBatchFactory.
#pragma warning disable EF1001

/// <summary>
/// A SaveChanges batch whose command starts with the emit statement when a context scope is open:
/// <c>SELECT pg_logical_emit_message(true,'hindsight',@hindsight_context::text);</c> then EF's statements, one round trip.
/// </summary>
/// <remarks>
/// <para>Every batch carries the context itself, so a SaveChanges that EF splits into several commands (MaxBatchSize,
/// parameter limits) attributes every row. Without a transaction a single command is still atomic: Npgsql sends all
/// its statements before one Sync, which PostgreSQL runs as one implicit transaction; with several batches EF
/// opens its own transaction as it always does. So SaveChanges never needs a transaction of Hindsight's.</para>
/// <para>The extra statement shifts what the provider reads by position: the reader starts on the emit's one-row
/// result set, and <c>Statements[i]</c> (rows affected of EF's i-th statement) becomes <c>Statements[i + 1]</c>.
/// <see cref="ConsumeAfterEmit"/> is the provider's reading loop with that offset; with no scope open the
/// command is EF's own and the provider's loop runs unchanged.</para>
/// </remarks>
internal sealed partial class HindsightModificationCommandBatch(
    ModificationCommandBatchFactoryDependencies dependencies, int maxBatchSize, RelationalTypeMapping textMapping)
    : NpgsqlModificationCommandBatch(dependencies, maxBatchSize)
{
    // EF names its parameters p0, p1, …; this name cannot collide with them.
    private const string ParameterName = "hindsight_context";

    /// <summary>Statements in front of EF's own: the emit.</summary>
    private const int EmitStatements = 1;

    private bool _emits;
    private HindsightContextTooLargeException? _tooLarge;

    /// <summary>True when <paramref name="parameters"/> are those of a command this batch built with the context.</summary>
    /// <remarks>The context parameter is added at Complete, after all of EF's, so it is the last one. (Looking it up by name
    /// would make Npgsql build a name index per command, an allocation on every SaveChanges.)</remarks>
    public static bool CarriesContext(System.Data.Common.DbParameterCollection parameters) =>
        parameters.Count > 0 && parameters[parameters.Count - 1].ParameterName.EndsWith(ParameterName, StringComparison.Ordinal);

    public override void Complete(bool moreBatchesExpected)
    {
        // SaveChanges builds and completes its batches inside the call, so the scope read here is the caller's.
        if (StoreCommand is null)
        {
            string? json = null;
            // Thrown from Execute instead, where EF reports batch failures (wrapped in DbUpdateException, its transaction rolled back).
            try { json = HindsightContext.CurrentJsonForSending(); }
            catch (HindsightContextTooLargeException e) { _tooLarge = e; }
            if (json is not null) PrependEmit(json);
        }
        base.Complete(moreBatchesExpected);
    }

    private void PrependEmit(string json)
    {
        // A text parameter like any of EF's (Npgsql rewrites the named placeholders); the JSON never enters the SQL text.
        var placeholder = Dependencies.SqlGenerationHelper.GenerateParameterName(ParameterName);
        RelationalCommandBuilder.AddParameter(ParameterName, placeholder, textMapping, nullable: false);
        ParameterValues.Add(ParameterName, json);
        SqlBuilder.Insert(0, HindsightProtocol.EmitSql(placeholder) + ";\n");
        _emits = true;
    }

    public override void Execute(IRelationalConnection connection)
    {
        ThrowIfTooLarge();
        base.Execute(connection);
    }

    public override Task ExecuteAsync(IRelationalConnection connection, CancellationToken cancellationToken = default)
    {
        ThrowIfTooLarge();
        return base.ExecuteAsync(connection, cancellationToken);
    }

    private void ThrowIfTooLarge()
    {
        if (_tooLarge is not null)
            throw new DbUpdateException(RelationalStrings.UpdateStoreException, _tooLarge, ModificationCommands.SelectMany(c => c.Entries).ToList());
    }

    protected override void Consume(RelationalDataReader reader)
    {
        if (_emits) ConsumeAfterEmit(reader, async: false, CancellationToken.None).GetAwaiter().GetResult();
        else base.Consume(reader);
    }

    protected override Task ConsumeAsync(RelationalDataReader reader, CancellationToken cancellationToken = default) =>
        _emits ? ConsumeAfterEmit(reader, async: true, cancellationToken) : base.ConsumeAsync(reader, cancellationToken);
}
