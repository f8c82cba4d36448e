using System.Security.Cryptography;
using System.Text;

namespace Hindsight.Server.Auth;

/// <summary>Making and hashing API keys.</summary>
/// <remarks>
/// A key is 256 random bits, so a fast hash is enough at rest: no dictionary or brute force reaches it, and a slow hash
/// (PBKDF2) would only cost CPU on every request. SHA-256 of the key's UTF-8 bytes is what the configuration keeps.
/// </remarks>
public static class ApiKeys
{
    /// <summary>Every key starts with this, so it is recognisable in a secret scanner or a leaked log.</summary>
    public const string Prefix = "hsk_";

    /// <summary>Makes a new random key with the given name and scope.</summary>
    /// <exception cref="ArgumentException">The name is not 1 to 64 letters, digits, '.', '_' or '-'.</exception>
    public static GeneratedApiKey Generate(string name, ApiKeyScope scope)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!ApiKeyEntry.IsValidName(name))
            throw new ArgumentException($"key name '{name}' must be 1 to 64 letters, digits, '.', '_' or '-'", nameof(name));
        var key = Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        return new GeneratedApiKey(key, new ApiKeyEntry(name, scope, Hash(key)));
    }

    /// <summary>The SHA-256 of a key's UTF-8 bytes.</summary>
    public static byte[] Hash(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return SHA256.HashData(Encoding.UTF8.GetBytes(key));
    }

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
