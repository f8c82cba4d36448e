using Hindsight.Server.Auth;
using Xunit;

namespace Hindsight.Tests.Server.Auth;

/// <summary>API keys: made random, kept as SHA-256 lines, found in fixed time.</summary>
[Trait("Category", "Fast")]
public sealed class ApiKeyTests
{
    [Fact]
    public void Api_key_generated_keys_are_random_and_their_configuration_line_round_trips()
    {
        var a = ApiKeys.Generate("ops", ApiKeyScope.Admin);
        var b = ApiKeys.Generate("ops", ApiKeyScope.Admin);
        Assert.NotEqual(a.Key, b.Key);
        Assert.StartsWith("hsk_", a.Key, StringComparison.Ordinal);
        Assert.True(a.Key.Length >= 40);
        var line = a.Entry.ToString();
        Assert.Matches("^ops:admin:sha256:[0-9a-f]{64}$", line);
        Assert.DoesNotContain(a.Key[4..], line, StringComparison.Ordinal); // the key itself is never in the line
        var parsed = ApiKeyEntry.Parse(line);
        Assert.Equal(("ops", ApiKeyScope.Admin), (parsed.Name, parsed.Scope));
        Assert.Equal(ApiKeys.Hash(a.Key), parsed.Sha256);
    }

    [Fact]
    public void Api_key_store_finds_only_the_exact_key()
    {
        var read = ApiKeys.Generate("r", ApiKeyScope.Read);
        var admin = ApiKeys.Generate("a", ApiKeyScope.Admin);
        var store = new ApiKeyStore([read.Entry, admin.Entry]);
        Assert.Equal("r", store.Find(read.Key)?.Name);
        Assert.Equal("a", store.Find(admin.Key)?.Name);
        Assert.Null(store.Find(read.Key + "x"));
        Assert.Null(store.Find(read.Key[..^1]));
        Assert.Null(store.Find(""));
        Assert.Null(store.Find(new string('x', 10_000)));
        Assert.Null(store.Find(Convert.ToHexStringLower(read.Entry.Sha256))); // the hash is not a key
    }

    [Fact]
    public void Api_key_lists_parse_with_comments_and_separators_and_bad_entries_are_refused()
    {
        var k1 = ApiKeys.Generate("one", ApiKeyScope.Read).Entry;
        var k2 = ApiKeys.Generate("two", ApiKeyScope.Admin).Entry;
        var k3 = ApiKeys.Generate("three", ApiKeyScope.Read).Entry;
        var parsed = ApiKeyEntry.ParseMany($"# keys\n{k1}\n\n  {k2};{k3}\r\n");
        Assert.Equal(["one", "two", "three"], parsed.Select(k => k.Name));

        foreach (var bad in new[] { "ops:admin:abc", "ops:root:sha256:" + new string('0', 64), "ops:read:md5:" + new string('0', 64),
                     "o p:read:sha256:" + new string('0', 64), "ops:read:sha256:xyz", "ops:read:sha256:00" })
            Assert.Throws<FormatException>(() => ApiKeyEntry.Parse(bad));
        Assert.Throws<ArgumentException>(() => ApiKeys.Generate("bad name", ApiKeyScope.Read));
    }
}
