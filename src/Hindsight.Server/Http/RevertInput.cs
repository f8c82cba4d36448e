using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Hindsight.Query;
using Hindsight.Revert;
using Hindsight.Server.Auth;
using Hindsight.Server.Contracts;
using Microsoft.AspNetCore.Http;
using NpgsqlTypes;

namespace Hindsight.Server.Http;

/// <summary>Reads a revert request body into a <see cref="RevertSelection"/> and the revert's own context.</summary>
internal static class RevertInput
{
    /// <summary>
    /// Strict: an unknown field is refused, not ignored. A misspelt criterion would otherwise vanish from the filter and
    /// widen what is reverted.
    /// </summary>
    private static readonly JsonSerializerOptions Strict = new()
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
        NumberHandling = JsonNumberHandling.Strict,
    };

    /// <summary>The body as a request, read up to <paramref name="maxBytes"/>.</summary>
    public static async Task<RevertRequest> ReadAsync(HttpRequest request, int maxBytes, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await request.Body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > maxBytes) throw new ApiInputException($"the request body is larger than {maxBytes} bytes");
            buffer.Write(chunk, 0, n);
        }
        if (buffer.Length == 0)
            throw new ApiInputException("the request body must be a JSON object, e.g. {\"change\": 42} or {\"transaction\": 1234}");
        try
        {
            return JsonSerializer.Deserialize<RevertRequest>(buffer.ToArray(), Strict)
                   ?? throw new ApiInputException("the request body must be a JSON object, not null");
        }
        catch (JsonException e)
        {
            // The path and position help; the rest of .NET's message is noise.
            var where = e.Path is { Length: > 1 } path ? $" at {path}" : "";
            throw new ApiInputException($"the request body is not a valid revert request{where}: {FirstSentence(e.Message)}");
        }
    }

    /// <summary>The selection: exactly one of change, transaction, commit_lsn, filter or rollback.</summary>
    public static RevertSelection Selection(RevertRequest r)
    {
        var kinds = (r.Change is null ? 0 : 1) + (r.Transaction is null ? 0 : 1) + (r.CommitLsn is null ? 0 : 1) + (r.Filter is null ? 0 : 1) +
                    (r.Rollback is null ? 0 : 1);
        if (kinds != 1)
            throw new ApiInputException("give exactly one of change, transaction, commit_lsn, filter or rollback");
        if (r.Rollback is { } rb)
        {
            var tables = QueryInput.Tables(rb.Tables);
            if (tables.Count == 0) throw new ApiInputException("rollback.tables: name at least one table");
            return new RevertSelection { RollbackTo = new RollbackTarget(tables, QueryInput.RequiredTime(rb.To, "rollback.to")) };
        }
        if (r.Filter is { } f)
            return new RevertSelection
            {
                Filter = new ChangeFilter
                {
                    Tables = QueryInput.Tables(f.Tables),
                    PrimaryKey = f.Key,
                    Operations = QueryInput.Operations(f.Operations),
                    Since = IsoTime.Parse(f.Since, "filter.since"),
                    Until = IsoTime.Parse(f.Until, "filter.until"),
                    TransactionId = f.Transaction,
                    Context = ObjectText(f.Context, "filter.context"),
                    Before = ObjectText(f.Before, "filter.before"),
                    After = ObjectText(f.After, "filter.after"),
                },
            };
        return new RevertSelection { ChangeId = r.Change, TransactionId = r.Transaction, CommitLsn = Lsn(r.CommitLsn) };
    }

    /// <summary>
    /// The revert's own context: the caller's object, with <c>apiKey</c> naming the key that asked, or behind the host's
    /// policies <c>userId</c> and <c>userName</c> naming the user (set by the server, so a caller cannot claim another).
    /// The library adds <c>hindsight.revertOf</c>.
    /// </summary>
    public static JsonObject Context(RevertRequest r, ClaimsPrincipal user)
    {
        var context = r.Context switch
        {
            null => [],
            JsonObject o => (JsonObject)o.DeepClone(),
            _ => throw new ApiInputException("context must be a JSON object, e.g. {\"reason\": \"ticket 42\"}"),
        };
        if (ApiCaller.IsApiKey(user))
        {
            context["apiKey"] = user.Identity?.Name ?? throw new InvalidOperationException("an authenticated key has a name");
            return context;
        }
        // Behind the host's policies: the user, under the keys the ASP.NET Core context middleware writes, so the revert
        // is found as that user's like their other changes. Set by the server: a caller cannot claim another user.
        context.Remove("apiKey");
        var id = ApiCaller.UserId(user);
        var name = user.Identity?.Name;
        if (id is null && name is null)
            throw new ApiForbiddenException("a revert must name who made it, and this caller has no name or NameIdentifier (sub) claim");
        if (id is not null) context["userId"] = id; else context.Remove("userId");
        if (name is not null) context["userName"] = name; else context.Remove("userName");
        return context;
    }

    private static string? ObjectText(JsonNode? node, string name) => node switch
    {
        null => null,
        JsonObject o => o.ToJsonString(),
        _ => throw new ApiInputException($"{name} must be a JSON object, e.g. {{\"userId\":\"u1\"}}"),
    };

    private static long? Lsn(string? text)
    {
        if (text is null) return null;
        if (!NpgsqlLogSequenceNumber.TryParse(text.Trim(), out var lsn))
            throw new ApiInputException($"commit_lsn: '{(text.Length > 32 ? text[..32] + "…" : text)}' is not an LSN (e.g. 0/16B3748)");
        return (long)(ulong)lsn;
    }

    private static string FirstSentence(string message)
    {
        var i = message.IndexOf(". ", StringComparison.Ordinal);
        return i < 0 ? message.TrimEnd('.') : message[..i];
    }
}
