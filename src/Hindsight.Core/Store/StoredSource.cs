namespace Hindsight.Store;

/// <summary>One source of a store: a tracked database under the name a person gave it.</summary>
/// <param name="Name">The name changes, progress and baselines carry.</param>
/// <param name="SystemIdentifier">The system identifier of its server; null for a source carried over from a store
/// that predates sources, until a setup or worker connects to it.</param>
/// <param name="Database">The database's name on its server.</param>
internal sealed record StoredSource(string Name, string? SystemIdentifier, string Database);
