using System.CommandLine;
using System.Text.Json;
using Hindsight.Configuration;
using Hindsight.Postgres;
using Hindsight.Server;
using Hindsight.Server.Auth;
using Microsoft.Extensions.Logging;

namespace Hindsight.Cli;

/// <summary>
/// <c>hindsight serve</c>: the HTTP API and the dashboard on Kestrel, bound to 127.0.0.1 unless <c>--urls</c>
/// says otherwise; <c>--generate-key read|admin</c> makes an API key instead.
/// </summary>
internal static class ServeCommand
{
    /// <summary>The environment variable holding API key entries (<c>name:scope:sha256:HEX</c>, separated by ';', ',' or new lines).</summary>
    public const string KeysVariable = "HINDSIGHT_API_KEYS";

    public static Command Create(CliEnvironment env, SharedOptions o)
    {
        var urls = new Option<string[]>("--urls")
        {
            Description = $"Addresses to listen on (default {HindsightServer.DefaultUrl}: this machine only); e.g. http://0.0.0.0:8080 to listen on every interface",
            HelpName = "url",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        var keysFile = new Option<string>("--keys-file")
        {
            Description = $"A file of API key entries, one per line (name:scope:sha256:HEX; # comments); added to ${KeysVariable}",
            HelpName = "path",
        };
        var generate = new Option<string>("--generate-key")
        {
            Description = "Make a new API key with this scope (read: everything but revert; admin: revert too), print it once with its configuration line, and exit",
            HelpName = "scope",
        };
        generate.AcceptOnlyFromAmong("read", "admin");
        var otlpEndpoint = TelemetryExport.EndpointOption();
        var otlpProtocol = TelemetryExport.ProtocolOption();
        var logFormat = HindsightCli.LogFormatOption();
        var keyName = new Option<string>("--key-name")
        {
            Description = "With --generate-key: the key's name, shown in logs and in the context of the reverts it makes (default: the scope and a random suffix)",
            HelpName = "name",
        };
        var cmd = new Command("serve", "Serve the HTTP API (JSON, behind API keys) and the web dashboard on 127.0.0.1 until stopped; --generate-key makes a key")
        {
            urls, keysFile, generate, keyName, otlpEndpoint, otlpProtocol, logFormat,
        };
        cmd.SetAction((r, ct) => r.GetValue(generate) is { } scope
            ? HindsightCli.GuardCore(r, env, o, _ => GenerateAsync(env, scope, r.GetValue(keyName), r.GetValue(o.Format) ?? "table"), ct, gracefulOnCancel: false)
            : HindsightCli.Guard(r, env, o, async (conn, token) =>
            {
                var keys = ReadKeys(env, r.GetValue(keysFile));
                var verbose = r.GetValue(o.Verbose);
                await using var telemetry = TelemetryExport.Start(r.GetValue(otlpEndpoint), r.GetValue(otlpProtocol)!, httpRequests: true);
                await using var app = HindsightServer.Build(api =>
                {
                    api.SourceConnectionString = conn.SourceConnectionString;
                    api.StoreConnectionString = conn.StoreConnectionString;
                    api.SourceName = conn.SourceName == "*" ? null : conn.SourceName;
                    api.Slot = conn.Slot;
                    api.Publication = conn.Publication;
                    api.Keys.AddRange(keys);
                }, NameList.Split(r.GetValue(urls)).ToList(), logging => Logging(logging, verbose, r.GetValue(logFormat) == "json"));
                await app.StartAsync(token);
                var address = HindsightServer.Addresses(app).FirstOrDefault() ?? "?";
                await env.Output.WriteLineAsync(
                    $"hindsight {HindsightCli.Version}: serving the API at {address}/api (OpenAPI at {address}/openapi/v1.json, dashboard at {address}/) for {ConnectionStrings.Describe(conn.SourceConnectionString)}" +
                    $", store {(conn.StoreConnectionString is null ? "the source database" : ConnectionStrings.Describe(conn.StoreConnectionString))}; {keys.Count} API key(s); stop with Ctrl+C");
                await env.Output.FlushAsync(token);
                try { await Task.Delay(Timeout.Infinite, token); }
                catch (OperationCanceledException) { /* stop asked */ }
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await app.StopAsync(grace.Token);
                await env.Error.WriteLineAsync("hindsight: stopped");
                return HindsightCli.Ok;
            }, ct, gracefulOnCancel: true));
        return cmd;
    }

    private static async Task<int> GenerateAsync(CliEnvironment env, string scope, string? name, string format)
    {
        var s = scope == "admin" ? ApiKeyScope.Admin : ApiKeyScope.Read;
        name ??= $"{scope}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))}";
        var key = QueryOptions.Input(() => ApiKeys.Generate(name, s));
        if (format == "json")
        {
            await env.Output.WriteLineAsync(JsonSerializer.Serialize(
                new { name = key.Entry.Name, scope, key = key.Key, entry = key.Entry.ToString() }, HindsightCli.Json));
            return HindsightCli.Ok;
        }
        await env.Output.WriteLineAsync(
            $"""
            API key '{key.Entry.Name}' ({scope}); shown only now, give it to its client:
              {key.Key}
            Configuration line (holds only the key's SHA-256): add it to ${KeysVariable} or a --keys-file:
              {key.Entry}
            """);
        return HindsightCli.Ok;
    }

    /// <summary>The entries of <c>HINDSIGHT_API_KEYS</c> and of the keys file; none is an error (nothing could be served).</summary>
    private static List<ApiKeyEntry> ReadKeys(CliEnvironment env, string? file)
    {
        var keys = new List<ApiKeyEntry>();
        try { keys.AddRange(ApiKeyEntry.ParseMany(env.GetVariable(KeysVariable) ?? "")); }
        catch (FormatException e) { throw new CliException($"${KeysVariable}: {e.Message}"); }
        if (file is not null)
        {
            string text;
            try { text = File.ReadAllText(file); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CliException($"--keys-file: {e.Message}"); }
            try { keys.AddRange(ApiKeyEntry.ParseMany(text)); }
            catch (FormatException e) { throw new CliException($"--keys-file {file}: {e.Message}"); }
        }
        if (keys.Count == 0)
            throw new CliException(
                $"no API keys: every request would be refused. Make one with 'hindsight serve --generate-key read' (or admin) and put its line in ${KeysVariable} or a --keys-file");
        return keys;
    }

    /// <summary>The server's logging: warnings of ASP.NET Core, information of Hindsight (debug with --verbose), on stderr.</summary>
    internal static void Logging(ILoggingBuilder b, bool verbose, bool json = false) =>
        HindsightCli.ConsoleLogging(b, verbose ? LogLevel.Debug : LogLevel.Information, json)
            .AddFilter("Microsoft", verbose ? LogLevel.Information : LogLevel.Warning);
}
