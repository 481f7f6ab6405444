namespace RnnLmService.Core.Storage;

// The service's one exception family for requests that fail for a known reason. Each carries a stable Code and, when
// a request field is at fault, the Field; the API's one exception handler maps the type to its HTTP status. Messages
// are written for clients: no server paths and no inner exception text (those stay in the log).

/// <summary>A dataset, job, model or key the client named does not exist (HTTP 404).</summary>
public sealed class NotFoundException : Exception
{
    /// <summary>"There is no {resource} '{id}'."</summary>
    public NotFoundException(string resource, string id) : base($"There is no {resource} '{id}'.") { }

    /// <summary>A message of the caller's own, the field at fault and a stable code such as <c>model_not_found</c>.</summary>
    public NotFoundException(string message, string? field, string code) : base(message)
    {
        Field = field;
        Code = code;
    }

    /// <summary>The request field at fault, if any.</summary>
    public string? Field { get; }

    /// <summary>A stable machine-readable code.</summary>
    public string Code { get; } = "not_found";
}

/// <summary>The request conflicts with the resource's state, e.g. cancelling a finished job (HTTP 409).</summary>
public sealed class ConflictException(string message, string? field = null, string code = "conflict") : Exception(message)
{
    /// <summary>The request field at fault, if any.</summary>
    public string? Field { get; } = field;

    /// <summary>A stable machine-readable code.</summary>
    public string Code { get; } = code;
}

/// <summary>An upload exceeded its size limit (HTTP 413).</summary>
public sealed class PayloadTooLargeException(string field, long limitBytes)
    : Exception($"The upload is larger than the limit of {limitBytes} bytes (RnnLm:Serving:MaxUploadBytes).")
{
    public string Field { get; } = field;
    public long LimitBytes { get; } = limitBytes;
}

/// <summary>
/// The database could not be reached or opened; the message names the setting and the host or file, so it is for the
/// log and the operator at start: a client sees only that the store is unavailable (HTTP 503).
/// </summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A worker's claim on a job ended: another worker took it after the lease expired, or it finished.</summary>
public sealed class LeaseLostException(string jobId, string workerId)
    : Exception($"Worker '{workerId}' no longer holds the lease of job '{jobId}'.");
