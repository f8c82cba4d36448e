using System.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore.Update;
using Npgsql;

namespace Hindsight.EntityFrameworkCore;

#pragma warning disable EF1001 // see HindsightModificationCommandBatch

internal sealed partial class HindsightModificationCommandBatch
{
    /// <summary>
    /// The Npgsql provider's result loop (NpgsqlModificationCommandBatch.Consume, efcore.pg 10.0) for a command whose
    /// statement 0 is the emit: every check and every propagation is the provider's, at EF's statement index + 1.
    /// </summary>
    /// <remarks>
    /// The provider never reports rows affected in a result set (except stored procedures' output parameters): a command
    /// with a result set (RETURNING, generated keys, concurrency tokens) must return its row, one without must report
    /// exactly one row affected in its CommandComplete, which Npgsql exposes per statement. Either miss is a
    /// concurrency conflict, raised through the provider's own ThrowAggregateUpdateConcurrencyException (so interceptors
    /// that suppress it behave as without Hindsight). Keep this in step with the provider when upgrading it; the tests
    /// in EfCoreBatchTests fail if the offset or a check goes wrong.
    /// </remarks>
    private async Task ConsumeAfterEmit(RelationalDataReader reader, bool async, CancellationToken cancellationToken)
    {
        var npgsqlReader = (NpgsqlDataReader)reader.DbDataReader;

        // The reader starts on the emit's one-row result set. Stepping over it also consumes EF's statements without a
        // result set up to the next one that has one, exactly as the provider's reader is positioned without the emit.
        if (async) await npgsqlReader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        else npgsqlReader.NextResult();

        var commandIndex = 0;
        try
        {
            bool? onResultSet = null;
            for (; commandIndex < ModificationCommands.Count; commandIndex++)
            {
                var command = ModificationCommands[commandIndex];
                if (ResultSetMappings[commandIndex].HasFlag(ResultSetMapping.HasResultRow))
                {
                    if (!(async ? await reader.ReadAsync(cancellationToken).ConfigureAwait(false) : reader.Read()))
                        await ThrowConcurrencyAsync(reader, commandIndex, async, cancellationToken).ConfigureAwait(false);

                    // Stored procedures only: rows affected comes back as an output parameter, i.e. a result column.
                    if (command.RowsAffectedColumn is { } rowsAffectedColumn
                        && reader.DbDataReader.GetInt32(OutputOrdinal(command, rowsAffectedColumn)) != 1)
                        await ThrowConcurrencyAsync(reader, commandIndex, async, cancellationToken).ConfigureAwait(false);

                    command.PropagateResults(reader);
                    onResultSet = async ? await npgsqlReader.NextResultAsync(cancellationToken).ConfigureAwait(false) : npgsqlReader.NextResult();
                }
                else
                {
                    // Rows affected of EF's statement commandIndex, which is the command's statement commandIndex + 1.
                    // Statements is obsolete in favour of DbBatch, which EF Core does not use for SaveChanges; the provider reads it too.
#pragma warning disable CS0618
                    var rows = npgsqlReader.Statements[commandIndex + EmitStatements].Rows;
#pragma warning restore CS0618
                    if (rows != 1 && command.StoreStoredProcedure is null)
                        await ThrowConcurrencyAsync(reader, commandIndex, async, cancellationToken).ConfigureAwait(false);
                }
            }

            if (onResultSet == true) Dependencies.UpdateLogger.UnexpectedTrailingResultSetWhenSaving();
        }
        catch (Exception ex) when (ex is not DbUpdateException and not OperationCanceledException)
        {
            var failed = ModificationCommands[Math.Min(commandIndex, ModificationCommands.Count - 1)];
            throw new DbUpdateException(RelationalStrings.UpdateStoreException, ex, failed.Entries);
        }
    }

    private async Task ThrowConcurrencyAsync(RelationalDataReader reader, int commandIndex, bool async, CancellationToken cancellationToken)
    {
        if (async) await ThrowAggregateUpdateConcurrencyExceptionAsync(reader, commandIndex, 1, 0, cancellationToken).ConfigureAwait(false);
        else ThrowAggregateUpdateConcurrencyException(reader, commandIndex, 1, 0);
    }

    // The result column of a stored procedure's rows-affected output parameter: output parameters come back in order.
    private static int OutputOrdinal(IReadOnlyModificationCommand command, IColumnBase rowsAffectedColumn)
    {
        var ordinal = -1;
        foreach (var columnModification in command.ColumnModifications)
        {
            if (columnModification.Column is IStoreStoredProcedureParameter { Direction: ParameterDirection.Output or ParameterDirection.InputOutput })
                ordinal++;
            if (columnModification.Column == rowsAffectedColumn) break;
        }
        return ordinal;
    }
}
