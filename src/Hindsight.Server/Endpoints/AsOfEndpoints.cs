using System.ComponentModel;
using Hindsight.Query;
using Hindsight.Server.Contracts;
using Hindsight.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Hindsight.Server.Endpoints;

/// <summary><c>GET /api/as-of</c>: a table, or one row, as it was at a moment, with how complete that answer is.</summary>
internal static class AsOfEndpoints
{
    public static void Map(RouteGroupBuilder api) =>
        api.MapGet("/as-of", async ([AsParameters] TableParameters read,
                [Description("The moment (ISO 8601): changes committed at or before it count. Exactly one of at, transaction, lsn")] string? at,
                [Description("Right after this source transaction (xid) committed, counted in commit LSN order")] string? transaction,
                [Description("At this WAL position (0/16B3748): every change whose commit LSN is at or before it")] string? lsn,
                [Description("Only the row with this primary key")] string? key,
                [Description("Keyset paging of a table: only rows whose primary key comes after this one (the previous page's next_after)")] string? after,
                HindsightBackend backend, IOptions<HindsightApiOptions> options, CancellationToken ct) =>
            {
                var (name, max) = read.Read(options.Value);
                var point = Point(at, transaction, lsn);
                var (src, db) = await read.ScopeAsync(backend, ct).ConfigureAwait(false);
                if (key is not null && after is not null) throw new FormatException("give key (one row) or after (the next page of a table), not both");
                // A table is read one page at a time (the store walks its keys in order and stops): never the whole table.
                var result = key is not null
                    ? await backend.Trail.AsOfAsync(name, point, key, db, src, ct).ConfigureAwait(false)
                    : await backend.Trail.AsOfPageAsync(name, point, new AsOfPage(max, after), db, src, ct).ConfigureAwait(false);
                if (key is not null && result.Rows.Count == 0)
                    throw new ApiNotFoundException($"{name} key {key} did not exist {result.PointNote} as far as the store knows ({result.CompletenessNote})");
                // A page holds at most max rows, and one key names one row (a key in two places is refused as ambiguous).
                return TypedResults.Ok(new AsOfDto(name.ToString(), ApiTime.Format(result.At), result.Rows.Select(AsOfRowDto.From).ToList(),
                    result.Rows.Count, result.NextKey is not null, result.NextKey,
                    result.Complete, ApiTime.Format(result.TrackingSince), result.CompletenessNote)
                {
                    UntrackedColumns = AsOfRowDto.Names(result.UntrackedColumns),
                    UntrackedNote = result.UntrackedNote,
                });
            })
            .WithName("asOf")
            .WithSummary("A table, or one row, as it was at a moment (with a completeness note)")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

    /// <summary>Exactly one of a moment, a transaction or an LSN, as the CLI's as-of takes them.</summary>
    private static AsOfPoint Point(string? at, string? transaction, string? lsn)
    {
        var given = (at is null ? 0 : 1) + (transaction is null ? 0 : 1) + (lsn is null ? 0 : 1);
        if (given != 1) throw new FormatException("give exactly one of at (a time), transaction (an xid) or lsn (a WAL position such as 0/16B3748)");
        if (at is not null) return AsOfPoint.At(QueryInput.RequiredTime(at, "at"));
        if (transaction is not null) return AsOfPoint.AfterTransaction(QueryInput.Long(transaction, "transaction")!.Value);
        if (!NpgsqlTypes.NpgsqlLogSequenceNumber.TryParse(lsn!.Trim(), out var position))
            throw new FormatException($"lsn: '{lsn}' is not a WAL position (e.g. 0/16B3748)");
        return AsOfPoint.AtLsn(position);
    }
}
