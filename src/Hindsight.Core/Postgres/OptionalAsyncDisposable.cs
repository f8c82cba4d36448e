using System.Runtime.CompilerServices;

namespace Hindsight.Postgres;

/// <summary>
/// <c>ConfigureAwait(false)</c> for an <c>await using</c> whose resource may be null (a separate store that is not
/// configured): disposing it then does nothing, as <c>await using</c> on the null resource itself does.
/// </summary>
internal static class OptionalAsyncDisposable
{
    /// <summary>The resource (or nothing, when it is null), disposed without resuming on the captured context.</summary>
    public static ConfiguredAsyncDisposable ConfigureAwait(IAsyncDisposable? resource, bool continueOnCapturedContext) =>
        (resource ?? Nothing.Instance).ConfigureAwait(continueOnCapturedContext);

    private sealed class Nothing : IAsyncDisposable
    {
        public static readonly Nothing Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
