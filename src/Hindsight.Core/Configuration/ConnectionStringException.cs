namespace Hindsight.Configuration;

/// <summary>A connection string that could not be understood. The message never contains the input's values.</summary>
public sealed class ConnectionStringException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public ConnectionStringException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public ConnectionStringException(string message, Exception inner) : base(message, inner) { }
}
