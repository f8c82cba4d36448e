using System.Text.Json;
using Hindsight.Cli;
using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace Hindsight.Tests.Query;

/// <summary>
/// Schema changes listed for people: what each did (a rename as a rename), with the statement exactly as sent and who
/// ran it, from the library, and from the CLI's <c>schema-changes</c>, <c>history</c> and <c>changes</c>.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class SchemaChangeListTests(PostgresFixture fixture)
{
    private const string Weird = "/* it's \"x\" */ ALTER TABLE people ADD COLUMN \"Straße \"\"q\"\" ü\" text";

    private static async Task MigrateAsync(CaptureHarness h, string migration, string sql)
    {
        await using var conn = await h.Source.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await using (var ctx = new NpgsqlCommand("SELECT pg_logical_emit_message(true, 'hindsight', $1)", conn, tx))
        {
            ctx.Parameters.AddWithValue($"{{\"userId\":\"alice\",\"migration\":\"{migration}\"}}");
            await ctx.ExecuteNonQueryAsync();
        }
        await using (var cmd = new NpgsqlCommand(sql, conn, tx)) await cmd.ExecuteNonQueryAsync();
        await tx.CommitAsync();
    }

    private static async Task<(int Code, string Out, string Err)> CliAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await HindsightCli.RunAsync(args, CliEnvironment.Captured(output, error));
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Each_schema_change_says_what_it_did_and_who_ran_it()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE person (id int PRIMARY KEY, email text, age int)");
        h.StartWorker();
        await h.ExecuteAsync("INSERT INTO person VALUES (1, 'a@x', 30)");
        await MigrateAsync(h, "20261203_Rename", "ALTER TABLE person RENAME COLUMN email TO contact_email");
        await h.ExecuteAsync("UPDATE person SET contact_email = 'b@x' WHERE id = 1");
        await MigrateAsync(h, "20261204_Nick", "ALTER TABLE person ADD COLUMN nick text NOT NULL DEFAULT 'n'");
        await MigrateAsync(h, "20261205_Age", "ALTER TABLE person DROP COLUMN age");
        await MigrateAsync(h, "20261206_Id", "ALTER TABLE person ALTER COLUMN id TYPE bigint");
        await MigrateAsync(h, "20261207_Table", "ALTER TABLE person RENAME TO people");
        await MigrateAsync(h, "20261208_Weird", Weird);
        await h.ExecuteAsync("UPDATE people SET nick = 'bee' WHERE id = 1");
        await h.CatchUpAsync();

        var trail = new AuditTrail(h.Source);
        // By its old name: the table's renames are followed.
        var list = (await trail.SchemaChangesAsync(new SchemaChangeFilter { Tables = [TableName.Parse("person")] })).Reverse().ToList();
        Assert.Equal(
            [
                ["column email renamed to contact_email"],
                ["column nick added (text NOT NULL, default 'n'::text)"],
                ["column age dropped"],
                ["column id type changed from integer to bigint"],
                ["table renamed from public.person to public.people"],
                ["column \"Straße \"\"q\"\" ü\" added (text)"],
            ],
            list.Select(s => s.Effects.ToArray()).ToArray());
        Assert.All(list, s => Assert.Equal("alice", s.Context["userId"]!.GetValue<string>()));
        Assert.Equal(Weird, list[^1].Statement);
        Assert.Equal(new TableName("public", "people"), list[^1].Table);
        Assert.Equal(["id", "contact_email", "nick", "Straße \"q\" ü"], list[^1].Columns.Select(c => c.Name));
        Assert.Equal(await h.ScalarAsync<string>("SELECT session_user::text"), list[0].Role);
        // The snapshot only when asked for.
        Assert.DoesNotContain(list, s => s.CommandTag == "SNAPSHOT");
        var withSnapshot = await trail.SchemaChangesAsync(new SchemaChangeFilter { Tables = [TableName.Parse("people")], IncludeSnapshots = true });
        Assert.Equal("SNAPSHOT", withSnapshot[^1].CommandTag);
        Assert.Equal(["columns recorded when tracking began: id integer, email text, age integer"], withSnapshot[^1].Effects);

        // The CLI: the list, as JSON with the exact statement, and among a row's versions and the table's changes.
        var src = h.ConnectionString;
        var text = await CliAsync("schema-changes", "--source", src, "--table", "people");
        Assert.Equal(0, text.Code);
        Assert.Contains("column email renamed to contact_email", text.Out);
        Assert.Contains("20261203_Rename", text.Out);
        var json = await CliAsync("schema-changes", "--source", src, "--table", "person", "--format", "json", "--limit", "1");
        Assert.Equal(0, json.Code);
        using (var doc = JsonDocument.Parse(json.Out))
            Assert.Equal(Weird, doc.RootElement.EnumerateArray().Single().GetProperty("statement").GetString());
        var history = await CliAsync("history", "--source", src, "--table", "people", "--key", "1");
        Assert.Equal(0, history.Code);
        var lines = history.Out.Split('\n');
        var rename = Array.FindIndex(lines, l => l.Contains("SCHEMA", StringComparison.Ordinal) && l.Contains("renamed to contact_email", StringComparison.Ordinal));
        var create = Array.FindIndex(lines, l => l.Contains("CREATE", StringComparison.Ordinal));
        var update = Array.FindIndex(lines, l => l.Contains("b@x", StringComparison.Ordinal));
        Assert.True(create >= 0 && create < rename && rename < update, history.Out);
        var bad = await CliAsync("schema-changes", "--source", src, "--limit", "0");
        Assert.NotEqual(0, bad.Code);
        Assert.Contains("--limit", bad.Err);
        await h.StopWorkerAsync();
    }
}
