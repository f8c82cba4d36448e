namespace Hindsight.Setup;

/// <summary>An error in the input of setup, teardown or status, or a state of the database they refuse to work with.</summary>
public sealed class SetupException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SetupException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public SetupException(string message, Exception inner) : base(message, inner) { }
}
