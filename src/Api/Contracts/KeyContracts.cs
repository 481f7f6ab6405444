namespace RnnLmService.Api.Contracts;

/// <summary>A key to create.</summary>
public sealed class CreateKeyRequest
{
    /// <summary>A name to tell keys apart (1-100 characters); shown in listings and logs, never the key.</summary>
    /// <example>ci-pipeline</example>
    public string? Name { get; init; }

    /// <summary>The key's role: <c>read</c> (inference, listing), <c>train</c> (and datasets, jobs) or <c>admin</c> (and models, keys, deletion).</summary>
    /// <example>train</example>
    public string? Role { get; init; }
}

/// <summary>A key as listed: never the key itself.</summary>
public class KeyResponse
{
    /// <summary>The key's id (for DELETE /api/keys/{id}); configured keys have <c>config:{name}</c>.</summary>
    /// <example>key_3f9a0c1b2d4e5f60</example>
    public required string Id { get; init; }

    /// <summary>The key's name.</summary>
    /// <example>ci-pipeline</example>
    public required string Name { get; init; }

    /// <summary><c>read</c>, <c>train</c> or <c>admin</c>.</summary>
    /// <example>train</example>
    public required string Role { get; init; }

    /// <summary><c>database</c> (created through this API) or <c>configuration</c> (RnnLm:Auth:Keys).</summary>
    /// <example>database</example>
    public required string Source { get; init; }

    /// <summary>The key's first characters, to recognise it; null for configured keys.</summary>
    /// <example>rnnlm_Xq3v</example>
    public string? Prefix { get; init; }

    /// <summary>When it was created (UTC); null for configured keys.</summary>
    /// <example>2026-12-03T09:40:00Z</example>
    public DateTime? CreatedAt { get; init; }

    /// <summary>When it was revoked (UTC), or null while it is in force.</summary>
    /// <example>2026-12-04T10:00:00Z</example>
    public DateTime? RevokedAt { get; init; }
}

/// <summary>A key just created: the only answer that carries the key.</summary>
public sealed class CreatedKeyResponse : KeyResponse
{
    /// <summary>The key. It is not stored (only its SHA-256 is) and is shown this once.</summary>
    /// <example>rnnlm_Xq3vJ0c7m2T9bq1Zr8yFh5W6nK4sD0pLa1eGu3iOtYc</example>
    public required string Key { get; init; }
}

/// <summary>Every key, configured and created, newest first.</summary>
public sealed class KeyList
{
    /// <summary>The keys.</summary>
    public required IReadOnlyList<KeyResponse> Items { get; init; }
}
