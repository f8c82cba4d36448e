namespace Hindsight.Query;

/// <summary>A question the store cannot answer faithfully (e.g. as-of of a table without a primary key).</summary>
public sealed class AuditQueryException(string message) : Exception(message);
