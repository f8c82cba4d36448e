using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace Hindsight.EntityFrameworkCore.Temporal;

/// <summary>
/// Turns the database errors a temporal query can meet into ones that say what to do: the trail's tables missing from
/// this database (the store is elsewhere), and <see cref="HindsightTemporalOptions.RequireCompleteHistory"/>'s refusal.
/// EF Core rethrows a command's error after telling its interceptors; an exception thrown here replaces it.
/// </summary>
internal sealed class TemporalCommandInterceptor(HindsightTemporalOptions options) : DbCommandInterceptor
{
    public override void CommandFailed(DbCommand command, CommandErrorEventData eventData) => Translate(command, eventData.Exception);

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Translate(command, eventData.Exception);
        return Task.CompletedTask;
    }

    private void Translate(DbCommand command, Exception exception)
    {
        if (exception is not PostgresException pg || !command.CommandText.Contains("hs_versions", StringComparison.Ordinal)) return;
        if (pg.SqlState == PostgresErrorCodes.InvalidTextRepresentation
            && pg.MessageText.IndexOf(TemporalSql.IncompleteMarker, StringComparison.Ordinal) is var at and >= 0)
        {
            var detail = pg.MessageText[(at + TemporalSql.IncompleteMarker.Length)..].TrimStart(':', ' ').TrimEnd('"');
            throw new HindsightIncompleteHistoryException(
                $"The trail does not hold all of {detail}: rows that existed before tracking began and never changed since are missing. "
                + "Take a baseline (hindsight setup --snapshot) to make later moments complete, or turn RequireCompleteHistory off to get what the trail holds.",
                pg);
        }
        if (pg.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName
            && pg.MessageText.Contains(options.StoreSchema, StringComparison.Ordinal))
            throw new InvalidOperationException(
                $"Temporal queries read the Hindsight store's tables in this database, and there are none: {pg.MessageText}. "
                + $"Either the store is this database and setup has not run here, or it is on another server: then make its tables visible here "
                + $"with postgres_fdw (CREATE EXTENSION postgres_fdw; CREATE SERVER hindsight_store FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '…', dbname '…'); "
                + $"CREATE USER MAPPING FOR CURRENT_USER SERVER hindsight_store OPTIONS (user '…', password '…'); CREATE SCHEMA hindsight_store; "
                + $"IMPORT FOREIGN SCHEMA hindsight LIMIT TO (changes, baselines, schema_changes) FROM SERVER hindsight_store INTO hindsight_store) "
                + $"and set StoreSchema = \"hindsight_store\" in UseHindsightTemporal.",
                pg);
    }
}
