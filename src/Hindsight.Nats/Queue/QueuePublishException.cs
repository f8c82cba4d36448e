namespace Hindsight.Queue;

/// <summary>JetStream did not take a publication: unreachable, full, or no stream for the subject. Capture retries the session.</summary>
public sealed class QueuePublishException : Exception
{
    /// <summary>Creates the exception.</summary>
    public QueuePublishException(string message, Exception? inner = null) : base(message, inner) { }
}
