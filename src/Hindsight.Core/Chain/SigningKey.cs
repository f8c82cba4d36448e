using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace Hindsight.Chain;

/// <summary>
/// The Ed25519 key a writer signs checkpoints with, in a PEM file (PKCS#8, <c>-----BEGIN PRIVATE KEY-----</c>) that only
/// its owner may read. Its public half is printed and exported as PEM (<c>-----BEGIN PUBLIC KEY-----</c>), the form
/// OpenSSL and most libraries read.
/// </summary>
public sealed class SigningKey : IDisposable
{
    private static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;
    private readonly Key _key;

    private SigningKey(Key key)
    {
        _key = key;
        PublicKey = new VerifyingKey(key.PublicKey);
    }

    /// <summary>The public half.</summary>
    public VerifyingKey PublicKey { get; }

    /// <summary>The key's id: the first 8 bytes of SHA-256 of the raw public key, in hex.</summary>
    public string KeyId => PublicKey.KeyId;

    /// <summary>Makes a new key and writes it to <paramref name="path"/> (mode 0600 on Unix); refuses to overwrite a file.</summary>
    /// <exception cref="IOException">The file exists, or cannot be written.</exception>
    public static SigningKey Create(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var key = Key.Create(Algorithm, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        try
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var file = new FileStream(path, options))
                file.Write(key.Export(KeyBlobFormat.PkixPrivateKeyText));
            return new SigningKey(key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Reads the key in <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="FormatException">The file is not an Ed25519 private key in PEM.</exception>
    public static SigningKey Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"no signing key at {path}", path);
        var text = File.ReadAllBytes(path);
        if (!Key.TryImport(Algorithm, text, KeyBlobFormat.PkixPrivateKeyText, out var key,
                new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }) || key is null)
            throw new FormatException($"{path} is not an Ed25519 private key in PEM (-----BEGIN PRIVATE KEY-----)");
        return new SigningKey(key);
    }

    /// <summary>Signs a checkpoint.</summary>
    public SignedCheckpoint Sign(Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return new SignedCheckpoint(checkpoint, KeyId, Algorithm.Sign(_key, checkpoint.SignedBytes()));
    }

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();
}

/// <summary>The public half of a <see cref="SigningKey"/>: checks checkpoint signatures.</summary>
public sealed class VerifyingKey
{
    private static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;
    private readonly PublicKey _key;

    internal VerifyingKey(PublicKey key)
    {
        _key = key;
        KeyId = Convert.ToHexStringLower(SHA256.HashData(key.Export(KeyBlobFormat.RawPublicKey))[..8]);
        // NSec writes CRLF line ends; PEM files on the machines that keep and check keys use LF, as OpenSSL writes them.
        Pem = Encoding.ASCII.GetString(key.Export(KeyBlobFormat.PkixPublicKeyText)).Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    /// <summary>The key's id: the first 8 bytes of SHA-256 of the raw 32-byte public key, in hex.</summary>
    public string KeyId { get; }

    /// <summary>The key as PEM (<c>-----BEGIN PUBLIC KEY-----</c>).</summary>
    public string Pem { get; }

    /// <summary>Reads a public key in PEM.</summary>
    /// <exception cref="FormatException">The text is not an Ed25519 public key in PEM.</exception>
    public static VerifyingKey FromPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        if (!PublicKey.TryImport(Algorithm, Encoding.ASCII.GetBytes(pem.Trim() + "\n"), KeyBlobFormat.PkixPublicKeyText, out var key) || key is null)
            throw new FormatException("not an Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----)");
        return new VerifyingKey(key);
    }

    /// <summary>Reads the public key in <paramref name="path"/>: a public key in PEM, or a signing key (whose public half is taken).</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="FormatException">The file holds neither.</exception>
    public static VerifyingKey Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"no public key at {path}", path);
        var text = File.ReadAllText(path);
        if (text.Contains("PRIVATE KEY", StringComparison.Ordinal))
        {
            using var signing = SigningKey.Load(path);
            return signing.PublicKey;
        }
        try { return FromPem(text); }
        catch (FormatException) { throw new FormatException($"{path} is not an Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----)"); }
    }

    /// <summary>True when <paramref name="signed"/> carries a valid signature by this key.</summary>
    public bool Verifies(SignedCheckpoint signed)
    {
        ArgumentNullException.ThrowIfNull(signed);
        return signed.Signature.Length == Algorithm.SignatureSize && Algorithm.Verify(_key, signed.Checkpoint.SignedBytes(), signed.Signature);
    }
}
