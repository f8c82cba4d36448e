using System.Net.Http.Json;
using Hindsight.Cli;
using Hindsight.Context;
using Hindsight.Samples.Shop;
using Npgsql;

namespace Hindsight.Demo;

/// <summary>
/// What happens in the demo's shop: HTTP requests by different users against the sample application
/// (EF Core + the ASP.NET Core middleware carry who and which request), a background job writing through
/// the Npgsql helper with its own scope, and one change made by hand in SQL, with no context at all.
/// </summary>
internal static class DemoShopScript
{
    /// <summary>One step, as the demo reports it.</summary>
    public sealed record Step(string Who, string What);

    public static async Task<IReadOnlyList<Step>> RunAsync(HttpClient http, NpgsqlDataSource database, CancellationToken ct)
    {
        var steps = new List<Step>();

        async Task Send(string user, HttpMethod method, string path, object? body, string? tenant = null)
        {
            using var request = new HttpRequestMessage(method, path);
            request.Headers.Add(DemoUserAuthentication.Header, user);
            if (tenant is not null) request.Headers.Add(ShopApp.TenantHeader, tenant);
            if (body is not null) request.Content = JsonContent.Create(body);
            using var response = await http.SendAsync(request, ct);
            if (!response.IsSuccessStatusCode)
                throw new CliException($"the sample shop answered {(int)response.StatusCode} to {method} {path}: {await response.Content.ReadAsStringAsync(ct)}");
            steps.Add(new Step(user, $"{method} {path}"));
        }

        await Send("alice@example.com", HttpMethod.Post, "/customers", new { name = "Alice Martin", email = "alice@example.com" });
        await Send("bob@example.com", HttpMethod.Post, "/customers", new { name = "Bob Chen", email = "bob@example.com" });
        await Send("alice@example.com", HttpMethod.Post, "/orders", new
        {
            customerId = 1, channel = "web",
            items = new[] { new { product = "Coffee beans", quantity = 2, price = 12.50m }, new { product = "Grinder", quantity = 1, price = 17.50m } },
        });
        await Send("carol@support.example.com", HttpMethod.Post, "/orders/1/pay", null, tenant: "acme");
        await Send("alice@example.com", HttpMethod.Patch, "/orders/1/items/1", new { quantity = 3 });
        await Send("alice@example.com", HttpMethod.Delete, "/orders/1/items/2", null);

        // A background job: no HTTP request, its own scope, plain Npgsql through the transaction helper.
        using (HindsightContext.Push(new { userId = "billing-job", job = "invoice-paid-orders" }))
        {
            await using var conn = await database.OpenConnectionAsync(ct);
            await using var tx = await conn.BeginHindsightTransactionAsync(cancellationToken: ct);
            await using var cmd = new NpgsqlCommand(
                "UPDATE orders SET details = details || jsonb_build_object('invoice', 'INV-' || id) WHERE status = 'paid'", conn, tx);
            await cmd.ExecuteNonQueryAsync(ct);
            await tx.CommitAsync(ct);
            steps.Add(new Step("billing-job", "job invoice-paid-orders (Npgsql)"));
        }

        // Someone fixes a row by hand in psql: captured all the same, with no context.
        await using (var cmd = database.CreateCommand("UPDATE customers SET email = 'bob@example.org' WHERE id = 2"))
            await cmd.ExecuteNonQueryAsync(ct);
        steps.Add(new Step("(psql)", "UPDATE customers … by hand"));
        return steps;
    }
}
