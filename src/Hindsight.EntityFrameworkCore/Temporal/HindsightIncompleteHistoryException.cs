namespace Hindsight.EntityFrameworkCore;

/// <summary>
/// A temporal query asked for moments the trail cannot fully answer for a table (with
/// <see cref="HindsightTemporalOptions.RequireCompleteHistory"/>): rows that existed before tracking began and never
/// changed since are not in it. Take a baseline (<c>hindsight setup --snapshot</c>) to make later moments complete.
/// </summary>
public sealed class HindsightIncompleteHistoryException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public HindsightIncompleteHistoryException() { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is missing.</param>
    public HindsightIncompleteHistoryException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What is missing.</param>
    /// <param name="innerException">The database error that said so.</param>
    public HindsightIncompleteHistoryException(string message, Exception innerException) : base(message, innerException) { }
}
