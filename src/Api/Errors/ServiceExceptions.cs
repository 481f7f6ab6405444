namespace RnnLmService.Api.Errors;

/// <summary>
/// A request that fails for a reason the host maps to one HTTP status. <see cref="Field"/> names the
/// client-facing field at fault when there is one; <see cref="Code"/> is a stable machine-readable code.
/// </summary>
public abstract class ServiceException(int statusCode, string code, string message, string? field = null) : Exception(message)
{
    /// <summary>The HTTP status this failure answers with.</summary>
    public int StatusCode { get; } = statusCode;

    /// <summary>A stable code, e.g. <c>model_not_found</c>.</summary>
    public string Code { get; } = code;

    /// <summary>The request field at fault (camelCase, or snake_case on <c>/v1</c>), if any.</summary>
    public string? Field { get; } = field;

    /// <summary>When set, the response carries <c>Retry-After</c>.</summary>
    public virtual TimeSpan? RetryAfter => null;
}

/// <summary>A resource (model, version, dataset, job) that does not exist: 404.</summary>
public sealed class NotFoundException(string message, string? field = null, string code = "not_found")
    : ServiceException(StatusCodes.Status404NotFound, code, message, field);

/// <summary>The request conflicts with the current state (e.g. deleting a model in use): 409.</summary>
public sealed class ConflictException(string message, string? field = null, string code = "conflict")
    : ServiceException(StatusCodes.Status409Conflict, code, message, field);

/// <summary>A request body of a media type the endpoint does not read: 415.</summary>
public sealed class UnsupportedMediaTypeException(string message)
    : ServiceException(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", message, "body");

/// <summary>A model's inference queue is full: 429 with <c>Retry-After</c>.</summary>
public sealed class QueueFullException(string message, TimeSpan retryAfter)
    : ServiceException(StatusCodes.Status429TooManyRequests, "queue_full", message)
{
    /// <inheritdoc />
    public override TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>No model can answer yet (starter model training, model loading, shutting down): 503 with <c>Retry-After</c>.</summary>
public sealed class ModelNotReadyException(string message, TimeSpan retryAfter, string? field = "model")
    : ServiceException(StatusCodes.Status503ServiceUnavailable, "model_not_ready", message, field)
{
    /// <inheritdoc />
    public override TimeSpan? RetryAfter { get; } = retryAfter;
}
