namespace Hindsight.Chain;

/// <summary>A verification, proof or checkpoint could not be made: the store has no chain, a source or change is unknown,
/// a key or checkpoint file is unusable. The message says which, and what to do.</summary>
public sealed class ChainException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ChainException() { }

    /// <summary>Creates the exception with a message.</summary>
    public ChainException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public ChainException(string message, Exception innerException) : base(message, innerException) { }
}
