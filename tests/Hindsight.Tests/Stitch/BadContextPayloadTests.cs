using System.Text;
using System.Text.Json;
using Hindsight.Capture;
using Xunit;
using static Hindsight.Tests.Stitch.Wal;

namespace Hindsight.Tests.Stitch;

/// <summary>
/// A context payload that breaks a rule never stops capture: the row changes after it are stored as usual, with the
/// context <c>{"hindsight":{"contextError":{"reason":…,"prefix":…,"bytes":…,"detail":…}}}</c>, where bytes is the
/// payload's full length. A payload that keeps the rules is stored as it was sent.
/// </summary>
[Trait("Category", "Fast")]
public sealed class BadContextPayloadTests
{
    /// <summary>The context stored for a change made after <paramref name="message"/> (and for one made before the next, good, message).</summary>
    private static async Task<string> StoredContextAsync(ContextMessageEvent message, int limit = Stitching.DefaultContextLimit)
    {
        var sink = await Stitching.RunAsync(new RecordingSink(),
        [
            Begin(830, 0xF000),
            Insert(Orders, Order(1, "new")),
            message,
            Insert(Orders, Order(2, "new")),
            Message("""{"userId":"after"}"""),
            Insert(Orders, Order(3, "new")),
            Commit(0xF000),
        ], contextLimit: limit);

        // The bad payload cost no change and no ordinal, and the next message replaces it.
        Assert.Equal([("1", 1), ("2", 2), ("3", 3)], sink.Changes.Select(c => (c.Record.PrimaryKey!, c.Ordinal)));
        Assert.Equal("{}", sink.Changes[0].Context);
        JsonAssert.Equal("""{"userId":"after"}""", sink.Changes[2].Context);
        return sink.Changes[1].Context;
    }

    [Theory]
    [InlineData("""["alice"]""", 9)]
    [InlineData("\"alice\"", 7)]
    [InlineData("null", 4)]
    [InlineData("42", 2)]
    public async Task Json_that_is_not_an_object_is_reported_with_the_payload(string payload, int bytes)
    {
        var stored = await StoredContextAsync(Message(payload));
        JsonAssert.Equal(
            """{"hindsight": {"contextError": {"reason": "not_object", "prefix": "hindsight", "bytes": """ + bytes +
            """, "detail": """ + JsonSerializer.Serialize(payload) + "}}}",
            stored);
    }

    [Fact]
    public async Task Text_that_is_not_json_is_reported_with_the_payload_and_the_parse_error()
    {
        var stored = await StoredContextAsync(Message("""{"userId": "alice" """));
        var error = ContextError(stored);
        Assert.Equal(("not_json", "hindsight", 19L), (error.Reason, error.Prefix, error.Bytes));
        Assert.StartsWith("""{"userId": "alice"  — """, error.Detail, StringComparison.Ordinal);
        Assert.True(error.Detail!.Length > """{"userId": "alice"  — """.Length, "the parser's message follows the payload");
    }

    [Fact]
    public async Task An_empty_payload_is_not_json()
    {
        var error = ContextError(await StoredContextAsync(Message("")));
        Assert.Equal(("not_json", "hindsight", 0L), (error.Reason, error.Prefix, error.Bytes));
        Assert.StartsWith(" — ", error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_nested_deeper_than_64_levels_is_not_json()
    {
        var payload = "{\"a\":" + new string('[', 70) + new string(']', 70) + "}";
        var error = ContextError(await StoredContextAsync(Message(payload)));
        Assert.Equal(("not_json", 146L), (error.Reason, error.Bytes));
    }

    [Fact]
    public async Task A_payload_over_the_limit_is_reported_with_its_full_length()
    {
        // {"k":"…"} is 8 bytes around the value: 56 characters make 64 bytes, the limit, 92 make 100.
        var atLimit = "{\"k\":\"" + new string('x', 56) + "\"}";
        Assert.Equal(atLimit, await StoredContextAsync(MessageBytes(Encoding.UTF8.GetBytes(atLimit), limit: 64), limit: 64));

        var over = Encoding.UTF8.GetBytes("{\"k\":\"" + new string('x', 92) + "\"}");
        var stored = await StoredContextAsync(MessageBytes(over, limit: 64), limit: 64);
        JsonAssert.Equal(
            """{"hindsight": {"contextError": {"reason": "too_large", "prefix": "hindsight", "bytes": 100, "detail": "payload of 100 bytes exceeds the limit of 64 bytes"}}}""",
            stored);

        var oneOver = Encoding.UTF8.GetBytes("{\"k\":\"" + new string('x', 57) + "\"}");
        var error = ContextError(await StoredContextAsync(MessageBytes(oneOver, limit: 64), limit: 64));
        Assert.Equal(("too_large", 65L), (error.Reason, error.Bytes));
    }

    [Fact]
    public async Task Bytes_that_are_not_utf8_are_reported_without_a_detail()
    {
        // {"name":"  0xC3 0x28 (a lead byte without its continuation)  "}
        byte[] payload = [.. "{\"name\":\""u8, 0xC3, 0x28, .. "\"}"u8];
        var stored = await StoredContextAsync(MessageBytes(payload));
        JsonAssert.Equal("""{"hindsight": {"contextError": {"reason": "invalid_utf8", "prefix": "hindsight", "bytes": 13}}}""", stored);
    }

    [Fact]
    public async Task Json_that_jsonb_cannot_hold_is_reported_as_unstorable()
    {
        // jsonb refuses \u0000 in a string and numbers beyond numeric's range.
        JsonAssert.Equal(
            """{"hindsight": {"contextError": {"reason": "unstorable", "prefix": "hindsight", "bytes": 19, "detail": "a string contains \\u0000"}}}""",
            await StoredContextAsync(Message("""{"note":"a\u0000b"}""")));
        JsonAssert.Equal(
            """{"hindsight": {"contextError": {"reason": "unstorable", "prefix": "hindsight", "bytes": 14, "detail": "number 1e999999 is outside numeric's range"}}}""",
            await StoredContextAsync(Message("""{"n":1e999999}""")));
    }

    [Fact]
    public async Task The_error_names_the_prefix_of_the_message()
    {
        JsonAssert.Equal(
            """{"hindsight": {"contextError": {"reason": "not_object", "prefix": "_bemi", "bytes": 2, "detail": "[]"}}}""",
            await StoredContextAsync(Message("[]", prefix: "_bemi")));
    }

    [Fact]
    public async Task A_good_payload_is_stored_exactly_as_sent()
    {
        const string payload = """{ "userId": "alice@example.com", "n": 1.50, "nested": {"a": [1, "two"]}, "emoji": "🦄", "quote": "\"" }""";
        Assert.Equal(payload, await StoredContextAsync(Message(payload)));
    }

    private static (string Reason, string Prefix, long Bytes, string? Detail) ContextError(string stored)
    {
        using var doc = JsonDocument.Parse(stored);
        var root = Assert.Single(doc.RootElement.EnumerateObject());
        Assert.Equal("hindsight", root.Name);
        var inner = Assert.Single(root.Value.EnumerateObject());
        Assert.Equal("contextError", inner.Name);
        var e = inner.Value;
        Assert.Subset(new HashSet<string> { "reason", "prefix", "bytes", "detail" }, e.EnumerateObject().Select(p => p.Name).ToHashSet());
        return (e.GetProperty("reason").GetString()!, e.GetProperty("prefix").GetString()!, e.GetProperty("bytes").GetInt64(),
            e.TryGetProperty("detail", out var d) ? d.GetString() : null);
    }
}
