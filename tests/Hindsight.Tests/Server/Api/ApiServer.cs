using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Hindsight.Server;
using Hindsight.Server.Auth;
using Hindsight.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;

namespace Hindsight.Tests.Server.Api;

/// <summary>
/// The real server (Kestrel on 127.0.0.1, a free port) over a <see cref="CaptureHarness"/> database, with one read key and
/// one admin key, and a worker capturing. Tests call it over HTTP.
/// </summary>
public sealed class ApiServer : IAsyncDisposable
{
    /// <summary>Two tables, one with a name that needs quoting.</summary>
    public const string Schema =
        """
        CREATE TABLE orders (id int PRIMARY KEY, status text, total numeric(10,2));
        CREATE TABLE "we'ird" (id int PRIMARY KEY, v text);
        """;

    private readonly WebApplication _app;
    private readonly List<HttpClient> _clients = [];

    private ApiServer(CaptureHarness harness, WebApplication app, GeneratedApiKey read, GeneratedApiKey admin)
    {
        Harness = harness;
        _app = app;
        ReadKey = read.Key;
        AdminKey = admin.Key;
        AdminKeyName = admin.Entry.Name;
        BaseAddress = new Uri(HindsightServer.Addresses(app).Single());
    }

    public CaptureHarness Harness { get; }
    public Uri BaseAddress { get; }
    public string ReadKey { get; }
    public string AdminKey { get; }
    public string AdminKeyName { get; }

    /// <summary>A fresh harness with <paramref name="schema"/> (default <see cref="Schema"/>), a worker, and the server over it.</summary>
    public static async Task<ApiServer> StartAsync(PostgresFixture fixture, Action<HindsightApiOptions>? configure = null, string schema = Schema)
    {
        var h = await CaptureHarness.CreateAsync(fixture, schema);
        h.StartWorker();
        var read = ApiKeys.Generate("reader", ApiKeyScope.Read);
        var admin = ApiKeys.Generate("ops-admin", ApiKeyScope.Admin);
        var app = HindsightServer.Build(o =>
        {
            o.SourceConnectionString = h.ConnectionString;
            o.Slot = h.Slot;
            o.Publication = h.Slot;
            o.Keys.Add(read.Entry);
            o.Keys.Add(admin.Entry);
            o.StreamPollInterval = TimeSpan.FromMilliseconds(100);
            configure?.Invoke(o);
        }, ["http://127.0.0.1:0"]);
        await app.StartAsync();
        return new ApiServer(h, app, read, admin);
    }

    /// <summary>
    /// Two transactions with context: alice creates orders 1–3; bob pays order 1 and deletes order 3. Returns when stored.
    /// </summary>
    public async Task SeedAsync()
    {
        await Harness.ExecuteAsync(
            """
            BEGIN;
            SELECT pg_logical_emit_message(true, 'hindsight', '{"userId":"alice","requestId":"r1"}');
            INSERT INTO orders VALUES (1, 'new', 10), (2, 'new', 20), (3, 'new', 30);
            COMMIT;
            BEGIN;
            SELECT pg_logical_emit_message(true, 'hindsight', '{"userId":"bob","requestId":"r2"}');
            UPDATE orders SET status = 'paid' WHERE id = 1;
            DELETE FROM orders WHERE id = 3;
            COMMIT;
            """);
        await Harness.CatchUpAsync();
    }

    /// <summary>
    /// Runs <paramref name="statements"/> in one transaction after a context message of <paramref name="contextJson"/>,
    /// each as its own command, so the server sees (and the trail records) each statement exactly as written. Does not
    /// wait for capture.
    /// </summary>
    public async Task MigrateAsync(string contextJson, params string[] statements)
    {
        await using var conn = await Harness.Source.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await using (var emit = new Npgsql.NpgsqlCommand("SELECT pg_logical_emit_message(true, 'hindsight', $1)", conn, tx))
        {
            emit.Parameters.AddWithValue(contextJson);
            await emit.ExecuteNonQueryAsync();
        }
        foreach (var sql in statements)
        {
            await using var cmd = new Npgsql.NpgsqlCommand(sql, conn, tx);
            await cmd.ExecuteNonQueryAsync();
        }
        await tx.CommitAsync();
    }

    /// <summary>A client sending <paramref name="key"/> as a bearer token (none when null).</summary>
    public HttpClient Client(string? key)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (key is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        _clients.Add(client);
        return client;
    }

    /// <summary>GET with the read key; the body as JSON (object or problem).</summary>
    public async Task<(int Status, JsonNode? Body)> GetAsync(string path, string? key = null)
    {
        using var response = await Client(key ?? ReadKey).GetAsync(path);
        return ((int)response.StatusCode, await ParseAsync(response));
    }

    /// <summary>POST a JSON body.</summary>
    public async Task<(int Status, JsonNode? Body)> PostAsync(string path, string json, string key)
    {
        using var response = await Client(key).PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        return ((int)response.StatusCode, await ParseAsync(response));
    }

    private static async Task<JsonNode?> ParseAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var c in _clients) c.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await Harness.DisposeAsync();
    }
}
