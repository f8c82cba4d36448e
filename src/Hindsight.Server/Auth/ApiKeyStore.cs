using System.Security.Cryptography;

namespace Hindsight.Server.Auth;

/// <summary>The configured keys, and the look-up of a presented key among them.</summary>
internal sealed class ApiKeyStore(IReadOnlyList<ApiKeyEntry> entries)
{
    /// <summary>Longest key looked at: anything longer is not a key this server made, and is not hashed.</summary>
    private const int MaxKeyLength = 256;

    public int Count => entries.Count;

    /// <summary>The entry of <paramref name="presented"/>, or null.</summary>
    /// <remarks>
    /// Every entry is compared, in fixed time, whatever matches: the time taken says nothing about which entry (or how
    /// much of a hash) matched. Comparing hashes rather than keys also keeps the key's length out of the timing.
    /// </remarks>
    public ApiKeyEntry? Find(string presented)
    {
        if (presented.Length is 0 or > MaxKeyLength) return null;
        var hash = ApiKeys.Hash(presented);
        ApiKeyEntry? found = null;
        foreach (var e in entries)
            if (CryptographicOperations.FixedTimeEquals(hash, e.Sha256)) found ??= e;
        return found;
    }
}
