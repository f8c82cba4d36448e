namespace Hindsight.Queue;

/// <summary>The queue cannot be used as it is: unreachable, missing, or configured in a way that could lose changes. The message says what to do.</summary>
public sealed class QueueConfigurationException : Exception
{
    /// <summary>An error with its message.</summary>
    public QueueConfigurationException(string message) : base(message) { }

    /// <summary>An error with its message and cause.</summary>
    public QueueConfigurationException(string message, Exception inner) : base(message, inner) { }
}
