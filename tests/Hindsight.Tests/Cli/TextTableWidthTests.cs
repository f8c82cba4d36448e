using Hindsight.Cli;
using Xunit;

namespace Hindsight.Tests.Cli;

/// <summary>CLI tables align by terminal cells: a CJK character and an emoji take two, as a terminal draws them.</summary>
[Trait("Category", "Fast")]
public sealed class TextTableWidthTests
{
    [Fact]
    public void Wide_characters_keep_the_columns_aligned()
    {
        var table = TextTable.Aligned(["who", "n"], [["ユーザー", "1"], ["Zoë 🙂", "2"], ["ab", "3"]]);
        // ユーザー is 8 cells wide, "Zoë 🙂" 6: every second column starts at cell 10.
        Assert.Equal(
            "who       n\n" +
            "--------  -\n" +
            "ユーザー  1\n" +
            "Zoë 🙂    2\n" +
            "ab        3\n", table);
    }

    [Fact]
    public void Cutting_counts_cells_and_never_splits_a_character()
    {
        Assert.Equal("ユーザ…", TextTable.Cell("ユーザー名前", 7)); // 3 × 2 cells + the ellipsis
        Assert.Equal("🙂🙂…", TextTable.Cell("🙂🙂🙂🙂", 6));
        Assert.Equal("short", TextTable.Cell("short", 6));
    }
}
