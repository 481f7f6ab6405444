using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Errors;
using RnnLmService.Api.Hosting;
using RnnLmService.Core;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Datasets;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Api.Security;
using RnnLmService.Core.Storage.Keys;
using RnnLmService.Core.Text.Prepared;

namespace RnnLmService.Api.Endpoints;

/// <summary>
/// <c>/api/datasets</c>: upload a UTF-8 corpus (streamed multipart with <c>file</c>, or <c>train</c>/<c>valid</c>/<c>test</c>;
/// or JSON <c>{ "name", "text" }</c> for small ones), list, get, delete.
/// </summary>
public static class DatasetsApi
{
    public static IEndpointRouteBuilder MapDatasetsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/datasets").WithTags("Datasets")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/", UploadAsync).WithName("UploadDataset").RequireApiRole(ApiKeyRoles.Train).WithSubmissionLimits(upload: true)
            .WithMetadata(new UploadSizeLimit(app.ServiceProvider))
            .WithDocumentedBody(typeof(DatasetTextRequest), multipart: true)
            .WithSummary("Upload a UTF-8 text corpus")
            .WithDescription("Streams the corpus to disk, counting lines, words, characters and bytes and hashing it (SHA-256) on the way. "
                + "Send multipart/form-data with one file field 'file' (split at upload into contiguous train/valid/test by line: the last "
                + "10 % of lines test, the 10 % before valid, the rest train) or the three fields 'train', 'valid' and 'test'; an optional "
                + "form field 'name' names it. Small corpora may come as application/json (DatasetTextRequest: name and text, or train/valid/test). "
                + "Not UTF-8, empty or whitespace-only → 400 naming the field; over RnnLm:Serving:MaxUploadBytes → 413.")
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        // No .Accepts(...) metadata: routing would answer another media type with a bare 415 before the handler's problem+json.
        group.MapGet("/", ListAsync).WithName("ListDatasets").RequireApiRole(ApiKeyRoles.Read)
            .WithSummary("List datasets")
            .WithDescription("Datasets, newest first, paged with offset (default 0) and limit (1-500, default 50).");
        group.MapGet("/{id}", GetAsync).WithName("GetDataset").RequireApiRole(ApiKeyRoles.Read)
            .WithSummary("Get a dataset")
            .WithDescription("One dataset with its counts per split, its SHA-256 and its token files (preparations): for each tokenizer "
                + "setting a training job asked for, whether they are preparing, ready, failed (with the reason) or interrupted.");
        group.MapDelete("/{id}", DeleteAsync).WithName("DeleteDataset").RequireApiRole(ApiKeyRoles.Admin)
            .WithSummary("Delete a dataset")
            .WithDescription("Deletes the dataset's record and files; 409 while a queued or running job uses it.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    /// <summary>
    /// This endpoint's body limit for the host's request-limit middleware (whose default is the small JSON limit):
    /// the upload limit plus room for multipart framing, read from options at each request.
    /// </summary>
    private sealed class UploadSizeLimit(IServiceProvider services) : IRequestSizeLimitMetadata
    {
        public long? MaxRequestBodySize => services.GetRequiredService<IOptions<RnnLmOptions>>().Value.Serving.MaxUploadBytes + MultipartSlack;
    }

    /// <summary>Bytes of multipart framing (boundaries, headers, the name field) allowed beyond the upload limit.</summary>
    private const long MultipartSlack = 1024 * 1024;

    internal static DatasetResponse ToResponse(DatasetRecord d, IReadOnlyList<PreparationStatus>? preparations = null) => new()
    {
        Id = d.Id,
        Name = d.Name,
        CreatedAt = d.CreatedAt,
        SplitKind = d.SplitKind,
        Lines = d.Lines,
        Words = d.Words,
        Characters = d.Characters,
        Bytes = d.Bytes,
        Sha256 = d.Sha256,
        Splits = new DatasetSplits
        {
            Train = new() { Lines = d.TrainLines, Words = d.TrainWords, Bytes = d.TrainBytes },
            Valid = new() { Lines = d.ValidLines, Words = d.ValidWords, Bytes = d.ValidBytes },
            Test = new() { Lines = d.TestLines, Words = d.TestWords, Bytes = d.TestBytes },
        },
        Preparations = (preparations ?? []).Select(ToResponse).ToList(),
    };

    private static DatasetPreparation ToResponse(PreparationStatus p) => new()
    {
        Kind = p.Key.Kind.ToString().ToLowerInvariant(),
        Lowercase = p.Key.Lowercase,
        SplitPunctuation = p.Key.SplitPunctuation,
        VocabularySize = p.Key.VocabularySize,
        Status = p.Status,
        Phase = p.Status == PreparationStatus.Ready ? null : p.Phase,
        Reason = p.Reason,
        StartedAt = p.StartedAt,
        PreparedAt = p.Index?.PreparedAt,
        Tokens = p.Index is { } i
            ? new PreparedTokens { Train = i.TrainTokens, Valid = i.ValidTokens, Test = i.TestTokens, TestCharacters = i.TestCharacters, TestWords = i.TestWords }
            : null,
        DistinctTokens = p.Index?.DistinctTokens,
        Seconds = p.Index is { } x ? x.CountingSeconds + x.EncodingSeconds : null,
    };

    private static async Task<Created<DatasetResponse>> UploadAsync(
        HttpContext http, DatasetStore store, IOptions<RnnLmOptions> options, CancellationToken ct)
    {
        var contentType = http.Request.ContentType;
        var json = contentType is not null && contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase);
        // JSON is for small corpora (it is read whole); multipart streams to disk up to the upload limit.
        var limit = json
            ? Math.Min(options.Value.Serving.MaxUploadBytes, options.Value.Serving.MaxRequestBodyBytes)
            : options.Value.Serving.MaxUploadBytes;
        var tooLarge = json
            ? $"The JSON body is larger than {limit} bytes; upload big corpora as multipart/form-data (limit RnnLm:Serving:MaxUploadBytes)."
            : $"The upload is larger than the limit of {limit} bytes (RnnLm:Serving:MaxUploadBytes).";
        // This endpoint's own body limit (the server default is far lower); a multipart upload also counts exact bytes.
        var slack = json ? 0 : MultipartSlack;
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            size.MaxRequestBodySize = limit + slack;
        if (http.Request.ContentLength > limit + slack) throw new UploadTooLargeException(tooLarge);

        try
        {
            DatasetRecord record;
            if (contentType is not null && contentType.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            {
                var boundary = HeaderUtilities.RemoveQuotes(MediaTypeHeaderValue.Parse(contentType).Boundary).Value;
                if (string.IsNullOrEmpty(boundary)) throw new InvalidSettingException("file", "The multipart body has no boundary.");
                record = await ReadMultipartAsync(http, store, boundary, limit, ct);
            }
            else if (json)
            {
                var body = await JsonBody.ReadAsync<DatasetTextRequest>(http.Request,
                    http.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions, ct);
                if (body.Name is { Length: > DatasetNames.MaxLength })
                    throw new InvalidSettingException("name", $"name is longer than {DatasetNames.MaxLength} characters.");
                if (body.Text is null && body.Train is null && body.Valid is null && body.Test is null)
                    throw new InvalidSettingException("text", "Send 'text' (split 80/10/10 by line) or 'train', 'valid' and 'test'.");
                try { record = await store.CreateFromTextAsync(body.Name, body.Text, body.Train, body.Valid, body.Test, ct); }
                catch (InvalidSettingException e) when (e.Field == DatasetStore.SingleFileField)
                {
                    // The store names its single-file field 'file'; in a JSON upload the client sent 'text'.
                    throw new InvalidSettingException("text", e.Reason.Replace("'file'", "'text'"));
                }
            }
            else
            {
                throw new UnsupportedMediaTypeException("Send multipart/form-data with 'file' (or 'train', 'valid', 'test'), or application/json {\"name\", \"text\"}.");
            }
            return TypedResults.Created($"/api/datasets/{record.Id}", ToResponse(record));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new UploadTooLargeException(tooLarge);
        }
        catch (InvalidDataException e) when (e.Message.Contains("length limit", StringComparison.OrdinalIgnoreCase))
        {
            throw new UploadTooLargeException(tooLarge);
        }
        catch (IOException e) when (e.TargetSite?.DeclaringType?.Namespace == "Microsoft.AspNetCore.WebUtilities")
        {
            // The multipart reader ran out of body before the closing boundary (truncated, or a boundary that never occurs).
            throw new InvalidSettingException("file", "The multipart body ended before its closing boundary (truncated, or a boundary that does not occur in it).");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Full disk or unwritable data directory: the server's fault; the path stays in the log.
            throw new StorageFailedException("The dataset could not be written to the server's data directory (full disk or no permission).", e);
        }
    }

    /// <summary>Streams each file section straight to disk; a <c>name</c> field names the dataset.</summary>
    private static async Task<DatasetRecord> ReadMultipartAsync(HttpContext http, DatasetStore store, string boundary, long limit, CancellationToken ct)
    {
        // The upload counts its own bytes (413 naming the limit); the reader's section limit is only a backstop.
        var reader = new MultipartReader(boundary, http.Request.Body)
        {
            BodyLengthLimit = limit + 64 * 1024,
            HeadersLengthLimit = DatasetNames.MaxSectionHeaderBytes, // bounds the file name before it is read
        };
        string? name = null;
        await using var upload = store.BeginUpload(null);
        while (await reader.ReadNextSectionAsync(ct) is { } section)
        {
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || !disposition.IsFormDisposition() && !disposition.IsFileDisposition())
                throw new InvalidSettingException("file", "Every multipart section needs a Content-Disposition of form-data with a name.");
            var field = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
            if (field == "name" && !disposition.IsFileDisposition())
            {
                name = (await DatasetNames.ReadBoundedAsync(section.Body, ct)).Trim();
                continue;
            }
            var fileName = HeaderUtilities.RemoveQuotes(disposition.FileName).Value;
            InvalidSettingException.Check(fileName is null || fileName.Length <= DatasetNames.MaxFileNameLength, field,
                $"The file name of '{field}' is longer than {DatasetNames.MaxFileNameLength} characters.");
            upload.SuggestedName ??= fileName is { Length: > 0 } ? Path.GetFileNameWithoutExtension(fileName) : null;
            await upload.AddFileAsync(field, section.Body, ct);
        }
        if (!string.IsNullOrWhiteSpace(name)) upload.SuggestedName = name;
        return await upload.CommitAsync(ct);
    }

    private static async Task<Ok<DatasetList>> ListAsync(DatasetStore store, int? offset, int? limit, CancellationToken ct)
    {
        var (o, l) = (offset ?? 0, limit ?? 50);
        InvalidSettingException.Check(o >= 0, "offset", "offset must be 0 or more.");
        InvalidSettingException.Check(l is >= 1 and <= 500, "limit", "limit must be between 1 and 500.");
        var (items, total) = await store.ListAsync(o, l, ct);
        var responses = new List<DatasetResponse>(items.Count);
        foreach (var d in items) responses.Add(ToResponse(d, await store.PreparationsAsync(d, ct)));
        return TypedResults.Ok(new DatasetList { Items = responses, Total = total, Offset = o, Limit = l });
    }

    private static async Task<Ok<DatasetResponse>> GetAsync(string id, DatasetStore store, CancellationToken ct)
    {
        var record = await store.GetAsync(id, ct)
            ?? throw new NotFoundException($"There is no dataset '{ModelNames.Shorten(id)}'. GET /api/datasets lists the datasets.", "id", "dataset_not_found");
        return TypedResults.Ok(ToResponse(record, await store.PreparationsAsync(record, ct)));
    }

    private static async Task<NoContent> DeleteAsync(string id, DatasetStore store, CancellationToken ct)
    {
        await store.DeleteAsync(id, ct);
        return TypedResults.NoContent();
    }
}
