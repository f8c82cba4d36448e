using System.Net.Http.Json;
using System.Text.Json;
using Hindsight.Samples.Shop;
using Hindsight.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Xunit;

namespace Hindsight.Tests.Temporal;

/// <summary>The sample shop's "the order as it was when it was paid" (EF Core temporal operators, store in the shop's database).</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class ShopAsPaidTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Temporal_shop_shows_the_order_as_it_was_when_it_was_paid()
    {
        await using var h = await CaptureHarness.CreateWithoutSetupAsync(fixture, "SELECT 1");
        await using var app = ShopApp.Build(h.ConnectionString, configure: b => b.WebHost.UseTestServer());
        await ShopApp.CreateSchemaAsync(app);
        await h.SetupAsync();
        h.StartWorker();
        await app.StartAsync();
        var http = app.GetTestClient();
        http.DefaultRequestHeaders.Add(DemoUserAuthentication.Header, "alice@example.com");

        (await http.PostAsJsonAsync("/customers", new { name = "Alice", email = "alice@example.com" })).EnsureSuccessStatusCode();
        (await http.PostAsJsonAsync("/orders", new { customerId = 1, channel = "web", items = new[] { new { product = "pen", quantity = 2, price = 1.5m } } }))
            .EnsureSuccessStatusCode();
        await h.CatchUpAsync();
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync("/orders/1/as-paid")).StatusCode);
        (await http.PostAsync("/orders/1/pay", null)).EnsureSuccessStatusCode();
        var paidTotal = await h.ScalarAsync<decimal>("SELECT total FROM orders WHERE id = 1");
        (await http.PatchAsJsonAsync("/orders/1/items/1", new { quantity = 7 })).EnsureSuccessStatusCode();
        await h.CatchUpAsync();

        using var body = JsonDocument.Parse(await http.GetStringAsync("/orders/1/as-paid"));
        var order = body.RootElement.GetProperty("order");
        Assert.Equal("paid", order.GetProperty("status").GetString());
        Assert.Equal(paidTotal, order.GetProperty("total").GetDecimal());
        Assert.Equal(2, order.GetProperty("items")[0].GetProperty("quantity").GetInt32()); // 7 came after the payment
        var paidAt = body.RootElement.GetProperty("paidAt").GetDateTime();
        Assert.Equal(await h.ScalarAsync<DateTime>("SELECT min(committed_at) FROM hindsight.changes WHERE \"table\" = 'orders' AND after->>'status' = 'paid'"),
            paidAt.ToUniversalTime());
        await app.StopAsync();
    }
}
