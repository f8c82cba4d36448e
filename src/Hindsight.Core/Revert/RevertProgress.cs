namespace Hindsight.Revert;

/// <summary>
/// How far <see cref="Reverter.ApplyAsync"/> has come: first it checks every row the plan writes (locked, still as the
/// plan saw it), then it runs the statements, one round trip each. Reported at most every tenth of a second and once at
/// the end of each phase.
/// </summary>
/// <param name="Phase"><see cref="Checking"/> or <see cref="Applying"/>.</param>
/// <param name="Done">Rows checked, or statements run, so far in this phase.</param>
/// <param name="Total">Rows to check, or statements to run, in this phase.</param>
/// <param name="Elapsed">Time since this phase began.</param>
public sealed record RevertProgress(string Phase, long Done, long Total, TimeSpan Elapsed)
{
    /// <summary>The phase that checks the rows the plan writes.</summary>
    public const string Checking = "checking";

    /// <summary>The phase that runs the statements.</summary>
    public const string Applying = "applying";

    /// <summary>Rows or statements per second so far.</summary>
    public double PerSecond => Elapsed.TotalSeconds > 0 ? Done / Elapsed.TotalSeconds : 0;

    /// <summary>Time left in this phase at the rate so far, once the rate is known.</summary>
    public TimeSpan? Remaining => PerSecond > 0 ? TimeSpan.FromSeconds(Math.Max(0, Total - Done) / PerSecond) : null;
}
