namespace Hindsight.Retention;

/// <summary>A prune, hold or policy refused: bad input (an age that is not positive, a horizon in the future, an unknown
/// table) or a store that cannot do it. Nothing was changed.</summary>
public sealed class RetentionException(string message, Exception? inner = null) : Exception(message, inner);
