using System.Security.Cryptography;
using System.Text;

namespace RnnLmService.Core.Storage.Keys;

/// <summary>Making keys, hashing them and comparing hashes. Keys are compared only as SHA-256 digests, in constant time.</summary>
public static class ApiKeySecrets
{
    /// <summary>Every key this service makes starts with this.</summary>
    public const string Prefix = "rnnlm_";

    /// <summary>Longest key a client may send; longer ones are refused before hashing.</summary>
    public const int MaxKeyLength = 256;

    /// <summary>A new key: the prefix and 32 random bytes, base64url (256 bits of entropy).</summary>
    public static string NewKey() => Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    /// <summary>SHA-256 of the key's UTF-8 bytes.</summary>
    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>Lowercase hex of <see cref="Hash"/>, as stored.</summary>
    public static string HashHex(string key) => Convert.ToHexStringLower(Hash(key));

    /// <summary>
    /// Whether two digests are equal, in time that does not depend on where they differ
    /// (<see cref="CryptographicOperations.FixedTimeEquals"/>): every key comparison goes through here.
    /// </summary>
    public static bool Matches(ReadOnlySpan<byte> presented, ReadOnlySpan<byte> known) =>
        CryptographicOperations.FixedTimeEquals(presented, known);

    /// <summary>Parses 64 hex digits (either case) into a digest, or null.</summary>
    public static byte[]? ParseHash(string? hex)
    {
        if (hex is not { Length: 64 }) return null;
        try { return Convert.FromHexString(hex); }
        catch (FormatException) { return null; }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
