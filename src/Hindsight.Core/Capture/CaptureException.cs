namespace Hindsight.Capture;

/// <summary>A condition capture cannot recover from by retrying (missing slot, slot in use, slot invalidated …).</summary>
public sealed class CaptureException(string message, Exception? inner = null) : Exception(message, inner);
