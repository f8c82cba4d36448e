using System.Text.Json.Serialization;

namespace Hindsight.Server.Contracts;

/// <summary>
/// The key a request was made with (<c>GET /api/session</c>): its name and scope, never the key or its hash. The dashboard
/// asks for it to show or hide what only an admin key may do; the server still enforces every scope on its own.
/// </summary>
/// <param name="Name">The key's name, as configured (also what reverts made with it carry in their context).</param>
/// <param name="Scope"><c>read</c> or <c>admin</c>.</param>
internal sealed record SessionDto(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("scope")] string Scope);
