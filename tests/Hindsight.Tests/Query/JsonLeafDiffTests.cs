using System.Text.Json.Nodes;
using Hindsight.Cli;
using Hindsight.Model;
using Hindsight.Query;
using Xunit;

namespace Hindsight.Tests.Query;

/// <summary>A json(b) column changed inside, described key by key rather than as two whole documents.</summary>
[Trait("Category", "Fast")]
public sealed class JsonLeafDiffTests
{
    private static ColumnChange Changed(string column, string before, string after) =>
        new(column, ColumnChangeKind.Changed, JsonNode.Parse(before), JsonNode.Parse(after));

    [Fact]
    public void Nested_keys_added_removed_and_changed_are_listed_by_path()
    {
        var leaves = Changed("details", """{"customer": {"id": 1, "tier": "gold"}, "old": true, "tags": [1]}""",
            """{"customer": {"id": 1, "tier": "silver"}, "invoice": "INV-1", "tags": [1, 2]}""").Leaves();
        Assert.Equal(
            ["details.customer.tier Changed gold silver", "details.invoice Added  INV-1", "details.tags Changed [1] [1,2]", "details.old Removed true "],
            leaves.Select(l => $"{l.Column} {l.Kind} {l.OldValue?.ToJsonString().Trim('"')} {l.NewValue?.ToJsonString().Trim('"')}"));
    }

    [Fact]
    public void Values_jsonb_finds_equal_are_not_listed_and_scalars_stay_whole()
    {
        Assert.Equal(["doc.b"], Changed("doc", """{"a": 1.0, "b": 1}""", """{"a": 1, "b": 2}""").Leaves().Select(l => l.Column));
        var scalar = Changed("total", "10", "12.5");
        Assert.Same(scalar, Assert.Single(scalar.Leaves()));
        var toObject = Changed("doc", "[1]", """{"a": 1}""");
        Assert.Same(toObject, Assert.Single(toObject.Leaves()));
    }

    [Fact]
    public void The_CLI_summary_shows_the_path_of_what_changed_inside_a_document()
    {
        var diff = new[]
        {
            Changed("status", "\"new\"", "\"paid\""),
            Changed("details", """{"customer": "c1"}""", """{"customer": "c1", "invoice": "INV-1"}"""),
        };
        Assert.Equal("status: new → paid; details.invoice: (none) → INV-1", ChangeOutput.Summary(Operation.Update, diff));
        // A new row keeps its whole values.
        Assert.Equal("""details={"a":1}""", ChangeOutput.Summary(Operation.Create,
            [new ColumnChange("details", ColumnChangeKind.Added, null, JsonNode.Parse("""{"a": 1}"""))]));
    }
}
