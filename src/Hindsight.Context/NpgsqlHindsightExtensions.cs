using System.Data;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Context;

/// <summary>
/// Npgsql (and Dapper, which runs on the same connection and transaction) helpers that send the
/// Hindsight context inside a transaction, ahead of the writes it describes.
/// </summary>
public static class NpgsqlHindsightExtensions
{
    /// <summary>
    /// Begins a transaction and, when a context scope is open, emits the current context as its
    /// first statement, so every change made in the transaction is attributed to it.
    /// </summary>
    /// <remarks>If a different scope is pushed later in the same transaction, call
    /// <see cref="EmitHindsightContextAsync(NpgsqlConnection, NpgsqlTransaction, CancellationToken)"/> again
    /// before the writes it should describe.</remarks>
    /// <exception cref="HindsightContextTooLargeException">The context is larger than <see cref="HindsightContext.SizeLimit"/>;
    /// the transaction is rolled back and nothing is sent.</exception>
    public static async Task<NpgsqlTransaction> BeginHindsightTransactionAsync(
        this NpgsqlConnection connection, IsolationLevel isolationLevel = IsolationLevel.Unspecified, CancellationToken cancellationToken = default)
    {
        // Checked before BEGIN so an oversized context never leaves an open transaction behind.
        var json = HindsightContext.CurrentJsonForSending();
        var tx = await connection.BeginTransactionAsync(isolationLevel, cancellationToken).ConfigureAwait(false);
        if (json is null) return tx;
        try
        {
            await EmitAsync(connection, tx, json, cancellationToken).ConfigureAwait(false);
            return tx;
        }
        catch
        {
            await tx.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Emits the current context in <paramref name="transaction"/>; does nothing when no scope is open.
    /// Changes made after this call in the transaction are attributed to it.
    /// </summary>
    /// <exception cref="HindsightContextTooLargeException">The context is larger than <see cref="HindsightContext.SizeLimit"/>; nothing is sent.</exception>
    public static Task EmitHindsightContextAsync(this NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var json = HindsightContext.CurrentJsonForSending();
        return json is null ? Task.CompletedTask : EmitAsync(connection, transaction, json, cancellationToken);
    }

    /// <summary>
    /// Emits <paramref name="context"/> (anonymous object, dictionary or JsonObject) in
    /// <paramref name="transaction"/>, regardless of any open scope.
    /// </summary>
    /// <exception cref="ArgumentException">Not a JSON object, or contains U+0000.</exception>
    /// <exception cref="HindsightContextTooLargeException">Larger than <see cref="HindsightContext.SizeLimit"/>; nothing is sent.</exception>
    public static Task EmitHindsightContextAsync(this NpgsqlConnection connection, NpgsqlTransaction transaction, object context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return EmitAsync(connection, transaction, HindsightContext.Serialize(context), cancellationToken);
    }

    private static async Task EmitAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string json, CancellationToken ct)
    {
        // Outside a transaction the message would commit on its own and describe nothing.
        if (transaction.Connection != connection)
            throw new InvalidOperationException("The transaction is not open on this connection (already committed, rolled back, or another connection's).");
        var cmd = new NpgsqlCommand(HindsightProtocol.EmitSql("$1"), connection, transaction);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.Add(new NpgsqlParameter { Value = json, NpgsqlDbType = NpgsqlDbType.Text });
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
