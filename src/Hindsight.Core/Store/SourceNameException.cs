namespace Hindsight.Store;

/// <summary>A source name that cannot be used: taken by another tracked database, or not this database's name.</summary>
public sealed class SourceNameException(string message) : Exception(message);
