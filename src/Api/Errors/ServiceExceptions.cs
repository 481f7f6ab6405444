namespace RnnLmService.Api.Errors;

// NotFoundException and ConflictException are the store's (RnnLmService.Core.Storage): one type per failure, thrown by
// the store and by endpoints alike. The exceptions below are failures only the HTTP host knows.

/// <summary>
/// A request that fails for a reason the host maps to one HTTP status. <see cref="Field"/> names the
/// client-facing field at fault when there is one; <see cref="Code"/> is a stable machine-readable code.
/// </summary>
public abstract class ServiceException(int statusCode, string code, string message, string? field = null, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>The HTTP status this failure answers with.</summary>
    public int StatusCode { get; } = statusCode;

    /// <summary>A stable code, e.g. <c>model_not_found</c>.</summary>
    public string Code { get; } = code;

    /// <summary>The request field at fault (camelCase, or snake_case on <c>/v1</c>), if any.</summary>
    public string? Field { get; } = field;

    /// <summary>When set, the response carries <c>Retry-After</c>.</summary>
    public virtual TimeSpan? RetryAfter => null;

    /// <summary>Further members of the problem (e.g. the <c>jobId</c> of a model not trained yet).</summary>
    public virtual IReadOnlyDictionary<string, object?>? Details => null;
}

/// <summary>A model's inference queue is full: 429 with <c>Retry-After</c>.</summary>
public sealed class QueueFullException(string message, TimeSpan retryAfter)
    : ServiceException(StatusCodes.Status429TooManyRequests, "queue_full", message)
{
    /// <inheritdoc />
    public override TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>No model can answer yet (starter model training, model loading, shutting down): 503 with <c>Retry-After</c>.</summary>
public sealed class ModelNotReadyException(string message, TimeSpan retryAfter, string? field = "model", IReadOnlyDictionary<string, object?>? details = null)
    : ServiceException(StatusCodes.Status503ServiceUnavailable, "model_not_ready", message, field)
{
    /// <inheritdoc />
    public override TimeSpan? RetryAfter { get; } = retryAfter;

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?>? Details { get; } = details;
}

/// <summary>No valid API key (missing, unknown or revoked): 401 with <c>WWW-Authenticate: Bearer</c>.</summary>
public sealed class UnauthorizedException(string message)
    : ServiceException(StatusCodes.Status401Unauthorized, "invalid_api_key", message);

/// <summary>The key's role may not call this route, or a cross-site browser request: 403.</summary>
public sealed class ForbiddenException(string message, string code = "insufficient_role")
    : ServiceException(StatusCodes.Status403Forbidden, code, message);

/// <summary>A per-key rate or concurrency limit is used up: 429 with <c>Retry-After</c>.</summary>
public sealed class RateLimitedException(string message, TimeSpan retryAfter, string code = "rate_limited")
    : ServiceException(StatusCodes.Status429TooManyRequests, code, message)
{
    /// <inheritdoc />
    public override TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>
/// The server could not write to its data directory (full disk, permissions): 507. The cause (with its path) goes to
/// the log under the correlation id, never to the client.
/// </summary>
public sealed class StorageFailedException(string message, Exception inner)
    : ServiceException(StatusCodes.Status507InsufficientStorage, "storage_failed", message, inner: inner);

/// <summary>The body's media type is not one the endpoint reads: 415, saying what to send.</summary>
public sealed class UnsupportedMediaTypeException(string message)
    : ServiceException(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", message, "body");

/// <summary>An upload over its limit: 413 naming the limit.</summary>
public sealed class UploadTooLargeException(string message)
    : ServiceException(StatusCodes.Status413PayloadTooLarge, "body_too_large", message, "file");

/// <summary>A body that is not JSON at all (empty, or broken syntax): 400 saying where it breaks.</summary>
public sealed class InvalidJsonException(string message)
    : ServiceException(StatusCodes.Status400BadRequest, "invalid_json", message, "body");
