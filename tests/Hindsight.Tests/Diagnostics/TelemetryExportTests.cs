using Hindsight.Cli;
using Xunit;

namespace Hindsight.Tests.Diagnostics;

/// <summary>What the log says of the OTLP collector: never credentials an address may carry.</summary>
[Trait("Category", "Fast")]
public sealed class TelemetryExportTests
{
    [Fact]
    public void The_logged_endpoint_has_no_credentials_or_path()
    {
        Assert.Equal("http://collector:4318", TelemetryExport.Describe("http://user:secret@collector:4318/otlp"));
        Assert.Equal("https://otel.example.com", TelemetryExport.Describe("https://otel.example.com"));
    }

    [Fact]
    public void A_bad_endpoint_is_refused_by_the_parser_with_its_option()
    {
        var errors = HindsightCli.ParseErrors(["run", "--otlp-endpoint", "collector:4317:x"]);
        Assert.Contains(errors, e => e.Contains("--otlp-endpoint must be an absolute URL", StringComparison.Ordinal));
        Assert.Contains(HindsightCli.ParseErrors(["serve", "--otlp-protocol", "udp"]), e => e.Contains("udp", StringComparison.Ordinal));
    }
}
