using Hindsight.Server;
using Hindsight.Server.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace Hindsight.Tests.Server.Api;

/// <summary><c>AddHindsightApi(IConfiguration)</c>: the API's options and keys from configuration, wrong settings named.</summary>
[Trait("Category", "Fast")]
public sealed class ApiConfigurationTests
{
    private static HindsightApiOptions Bind(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddHindsightApi(builder.Configuration.GetSection("Hindsight:Api"));
        using var app = builder.Build();
        return app.Services.GetRequiredService<IOptions<HindsightApiOptions>>().Value;
    }

    [Fact]
    public void Options_and_key_lines_come_from_the_section()
    {
        var admin = ApiKeys.Generate("ops", ApiKeyScope.Admin).Entry;
        var read = ApiKeys.Generate("support", ApiKeyScope.Read).Entry;
        var o = Bind(new()
        {
            ["Hindsight:Api:SourceConnectionString"] = "postgresql://audit@db/shop",
            ["Hindsight:Api:MaxPageSize"] = "250",
            ["Hindsight:Api:StreamPollInterval"] = "00:00:02",
            ["Hindsight:Api:ApiKeys:0"] = admin.ToString(),
            ["Hindsight:Api:ApiKeys:1"] = read.ToString(),
        });
        Assert.Equal("postgresql://audit@db/shop", o.SourceConnectionString);
        Assert.Equal(250, o.MaxPageSize);
        Assert.Equal(TimeSpan.FromSeconds(2), o.StreamPollInterval);
        Assert.Equal([admin.ToString(), read.ToString()], o.Keys.Select(k => k.ToString()));
    }

    [Theory]
    [InlineData("Hindsight:Api:MaxPagesize2", "50", "unknown setting Hindsight:Api:MaxPagesize2")]
    [InlineData("Hindsight:Api:ApiKeys:0", "ops:admin:md5:00", "Hindsight:Api:ApiKeys:0")]
    [InlineData("Hindsight:Api:MaxPageSize", "many", "Hindsight:Api:MaxPageSize")]
    public void A_wrong_setting_is_named(string key, string value, string named)
    {
        var e = Assert.ThrowsAny<Exception>(() => Bind(new() { ["Hindsight:Api:SourceConnectionString"] = "postgresql://audit@db/shop", [key] = value }));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }
}
