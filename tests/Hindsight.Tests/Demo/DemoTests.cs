using Hindsight.Cli;
using Hindsight.Demo;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Demo;

/// <summary>The demo (samples/Hindsight.Demo) with <c>--no-serve</c>: the trail it prints, as JSON and as tables.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class DemoTests
{
    private sealed record Result(int ExitCode, string Out, string Err);

    private static async Task<Result> RunAsync(string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await DemoCommand.RunAsync(args, CliEnvironment.Captured(output, error));
        return new Result(code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Demo_drives_the_sample_shop_and_the_trail_says_who_did_each_change_from_which_request()
    {
        var r = await RunAsync(["--timeout", "60", "--slot", "hs_demo_test", "--format", "json", "--no-serve"]);
        Assert.True(r.ExitCode == 0, r.Err);
        var changes = System.Text.Json.Nodes.JsonNode.Parse(r.Out)!.AsArray().Select(c => c!.AsObject()).ToList();

        // What the demo's script did (DemoShopScript), independently of what was stored: 13 row changes.
        string Who(System.Text.Json.Nodes.JsonObject c) => c["context"]?["userId"]?.GetValue<string>() ?? "-";
        string Route(System.Text.Json.Nodes.JsonObject c) => c["context"]?["route"]?.GetValue<string>() ?? "-";
        var trail = changes.Select(c => $"{c["table"]} {c["primary_key"]} {c["operation"]} {Who(c)} {Route(c)}").ToList();
        Assert.Equal(
        [
            "customers 1 CREATE alice@example.com /customers",
            "customers 2 CREATE bob@example.com /customers",
            "orders 1 CREATE alice@example.com /orders",
            "order_items [1,1] CREATE alice@example.com /orders",
            "order_items [1,2] CREATE alice@example.com /orders",
            "orders 1 UPDATE carol@support.example.com /orders/{id:int}/pay",
            "customers 1 UPDATE carol@support.example.com /orders/{id:int}/pay",
            "order_items [1,1] UPDATE alice@example.com /orders/{id:int}/items/{line:int}",
            "orders 1 UPDATE alice@example.com /orders/{id:int}/items/{line:int}",
            "order_items [1,2] DELETE alice@example.com /orders/{id:int}/items/{line:int}",
            "orders 1 UPDATE alice@example.com /orders/{id:int}/items/{line:int}",
            "orders 1 UPDATE billing-job -",
            "customers 2 UPDATE - -",
        ], trail);
        Assert.Equal("acme", changes[5]["context"]!["tenant"]!.GetValue<string>()); // the app's enrich callback
        Assert.Equal("invoice-paid-orders", changes[11]["context"]!["job"]!.GetValue<string>());
        Assert.Empty(changes[12]["context"]!.AsObject()); // the change made by hand carries no context
        Assert.Equal("paid", changes[5]["after"]!["status"]!.GetValue<string>());
        Assert.Equal("new", changes[5]["before"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Demo_table_view_shows_users_routes_and_composite_keys()
    {
        var r = await RunAsync(["--timeout", "60", "--slot", "hs_demo_table", "--no-serve"]);
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("carol@support.example.com", r.Out);
        Assert.Contains("POST /orders/{id:int}/pay", r.Out);
        Assert.Contains("job invoice-paid-orders", r.Out);
        Assert.Contains("status: new → paid", r.Out);
        Assert.Contains("[1,1]", r.Out);

        // Then history, time travel and a revert, through the query library.
        var history = r.Out[r.Out.IndexOf("history of orders 1", StringComparison.Ordinal)..];
        Assert.Matches(@"UPDATE\s+carol@support\.example\.com\s+status: new → paid", history);
        Assert.Contains("just before carol@support.example.com paid", history);
        Assert.Matches(@"\n1\s+new\s+42\.50\s", history); // the order as it was before the payment
        Assert.Contains("0 conflict(s)", history);
        Assert.Contains("details.invoice: INV-1 → (none)", history); // the revert, captured with its own context
        Assert.Contains("the invoices went out twice", history); // the revert's own context
    }
}
