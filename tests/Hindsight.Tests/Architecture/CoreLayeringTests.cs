using Hindsight.Worker;
using Xunit;

namespace Hindsight.Tests.Architecture;

/// <summary>
/// Core's stages depend on each other one way: a stage never calls back into one that calls it. Checked on the compiled
/// assembly, so no dependency escapes because it was written as a qualified name.
/// </summary>
[Trait("Category", "Fast")]
public sealed class CoreLayeringTests
{
    private static readonly HashSet<(string From, string To)> Edges =
        NamespaceGraph.Read(typeof(CaptureWorker).Assembly, "Hindsight.");

    [Fact]
    public void Core_namespaces_form_no_cycle()
    {
        Assert.NotEmpty(Edges); // the reader found the stages at all
        var cycle = NamespaceGraph.FindCycle(Edges);
        Assert.True(cycle is null, "namespace cycle: " + string.Join(" → ", cycle ?? []));
    }

    [Theory]
    // The pipeline's lower stages know nothing of what drives them or reads what they wrote.
    [InlineData("Hindsight.Capture", "Hindsight.Stitch")]
    [InlineData("Hindsight.Capture", "Hindsight.Sink")]
    [InlineData("Hindsight.Capture", "Hindsight.Worker")]
    [InlineData("Hindsight.Capture", "Hindsight.Setup")]
    [InlineData("Hindsight.Stitch", "Hindsight.Worker")]
    [InlineData("Hindsight.Stitch", "Hindsight.Store")]
    [InlineData("Hindsight.Sink", "Hindsight.Stitch")]
    [InlineData("Hindsight.Sink", "Hindsight.Capture")]
    // Reading the trail never writes to the tracked database: the query side does not reach revert or setup.
    [InlineData("Hindsight.Query", "Hindsight.Revert")]
    [InlineData("Hindsight.Query", "Hindsight.Setup")]
    [InlineData("Hindsight.Query", "Hindsight.Stitch")]
    [InlineData("Hindsight.Store", "Hindsight.Query")]
    [InlineData("Hindsight.Store", "Hindsight.Setup")]
    // The chain is hashed from what is stored: it knows the store's shape, not how the changes got there or who reads them.
    [InlineData("Hindsight.Chain", "Hindsight.Sink")]
    [InlineData("Hindsight.Chain", "Hindsight.Stitch")]
    [InlineData("Hindsight.Chain", "Hindsight.Capture")]
    [InlineData("Hindsight.Chain", "Hindsight.Worker")]
    [InlineData("Hindsight.Chain", "Hindsight.Query")]
    [InlineData("Hindsight.Chain", "Hindsight.Revert")]
    public void A_stage_does_not_use_another(string from, string to) =>
        Assert.DoesNotContain(Edges, e => e.From.StartsWith(from, StringComparison.Ordinal) && e.To.StartsWith(to, StringComparison.Ordinal));

    [Fact]
    public void The_cycle_finder_finds_a_cycle() =>
        Assert.Equal(["A", "B", "C", "A"], NamespaceGraph.FindCycle([("A", "B"), ("B", "C"), ("C", "A"), ("C", "D")]));
}
