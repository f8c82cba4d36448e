using Microsoft.Extensions.Options;

namespace Hindsight.Server.Endpoints;

/// <summary>Counts the live streams open, to refuse one past <see cref="HindsightApiOptions.MaxStreams"/>.</summary>
internal sealed class StreamGate(IOptions<HindsightApiOptions> options)
{
    private int _open;

    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _open) <= options.Value.MaxStreams) return true;
        Interlocked.Decrement(ref _open);
        return false;
    }

    public void Exit() => Interlocked.Decrement(ref _open);
}
