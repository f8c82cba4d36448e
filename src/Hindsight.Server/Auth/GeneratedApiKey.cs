namespace Hindsight.Server.Auth;

/// <summary>A newly made key: the key itself (shown once) and its entry for the configuration.</summary>
/// <param name="Key">The secret: give it to the client; it is not kept anywhere.</param>
/// <param name="Entry">What the server keeps: the name, the scope and the key's hash.</param>
public sealed record GeneratedApiKey(string Key, ApiKeyEntry Entry);
