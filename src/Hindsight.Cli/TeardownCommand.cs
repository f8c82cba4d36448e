using System.CommandLine;
using System.Text.Json;
using Hindsight.Setup;

namespace Hindsight.Cli;

/// <summary><c>hindsight teardown</c>: drops slot and publication; stored changes only with <c>--purge</c>.</summary>
internal static class TeardownCommand
{
    public static Command Create(CliEnvironment env, SharedOptions o)
    {
        var purge = new Option<bool>("--purge") { Description = "Also drop the stored changes (schema hindsight of the store)" };
        var force = new Option<bool>("--force") { Description = "Terminate a running worker that holds the slot instead of refusing" };
        var cmd = new Command("teardown", "Drop the replication slot, the publication and the Bemi-compat triggers; stored changes are kept unless --purge. Idempotent.")
        {
            purge, force,
        };
        cmd.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var format = HindsightCli.RequireFormat(r, o, "teardown", "table", "json");
            var runner = new TeardownRunner(new TeardownOptions(conn)
            {
                Purge = r.GetValue(purge),
                Force = r.GetValue(force),
            });
            var report = await runner.RunAsync(token);
            await env.Output.WriteAsync(format == "json" ? JsonSerializer.Serialize(report, HindsightCli.Json) + "\n" : report.ToText());
            return HindsightCli.Ok;
        }, ct));
        return cmd;
    }
}
