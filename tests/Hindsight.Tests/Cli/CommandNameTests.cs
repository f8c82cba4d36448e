using Hindsight.Cli;
using Xunit;

namespace Hindsight.Tests.Cli;

/// <summary>
/// The command a command line runs, found wherever the shared options stand: <c>hindsight run</c> turns on inline
/// socket completions before anything connects, and <c>hindsight --source … run</c> is the same command.
/// </summary>
[Trait("Category", "Fast")]
public sealed class CommandNameTests
{
    [Theory]
    [InlineData("run", new[] { "run" })]
    [InlineData("run", new[] { "run", "--slot", "s" })]
    [InlineData("run", new[] { "--source", "host=x dbname=y", "run" })]
    [InlineData("run", new[] { "--source=host=x", "-v", "--slot", "s", "run", "--batch-size", "10" })]
    [InlineData("status", new[] { "--slot", "run", "status" })]
    [InlineData("setup", new[] { "setup", "--publication", "run" })]
    public void Finds_the_command_wherever_the_shared_options_stand(string expected, string[] args) =>
        Assert.Equal(expected, HindsightCli.CommandName(args));

    [Fact]
    public void An_option_value_named_run_is_not_the_run_command() =>
        Assert.NotEqual("run", HindsightCli.CommandName(["--source", "run"]));
}
