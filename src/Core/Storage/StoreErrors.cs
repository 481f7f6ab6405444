namespace RnnLmService.Core.Storage;

/// <summary>A dataset, job or model the client named does not exist (HTTP 404).</summary>
public sealed class NotFoundException(string resource, string id)
    : Exception($"There is no {resource} '{id}'.")
{
    public string Resource { get; } = resource;
    public string Id { get; } = id;
}

/// <summary>The request conflicts with the resource's state, e.g. cancelling a finished job (HTTP 409).</summary>
public sealed class ConflictException(string message) : Exception(message);

/// <summary>An upload exceeded its size limit (HTTP 413).</summary>
public sealed class PayloadTooLargeException(string field, long limitBytes)
    : Exception($"The upload is larger than the limit of {limitBytes} bytes (RnnLm:Serving:MaxUploadBytes).")
{
    public string Field { get; } = field;
    public long LimitBytes { get; } = limitBytes;
}

/// <summary>The database could not be reached or opened; the message names the setting and the host or file.</summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A worker's claim on a job ended: another worker took it after the lease expired, or it finished.</summary>
public sealed class LeaseLostException(string jobId, string workerId)
    : Exception($"Worker '{workerId}' no longer holds the lease of job '{jobId}'.");
