using System.Text;
using Microsoft.EntityFrameworkCore;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage.Artifacts;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Text.Prepared;

namespace RnnLmService.Core.Storage.Datasets;

/// <summary>
/// Datasets: text corpora streamed to <c>{DataDirectory}/datasets/{id}/train.txt valid.txt test.txt</c> (their token
/// files, prepared by the training jobs, under <c>tokens/</c> beside them, see <see cref="TokenFiles"/>) and
/// recorded in the store with their counts and SHA-256. A single uploaded file is split at upload into
/// contiguous train/valid/test parts by line — the last 10 % of lines (at least one) are test, the 10 % before
/// them valid, the rest train — so the files, counts and hash never depend on the engine's version.
/// </summary>
public sealed class DatasetStore(IDbContextFactory<RnnLmDbContext> dbFactory, RnnLmOptions options, JobStore jobs, TimeProvider? clock = null,
    IArtifactStore? artifacts = null)
{
    /// <summary>Where the committed files are kept (the data directory, or a bucket with <c>RnnLm:Storage:Provider=s3</c>).</summary>
    internal IArtifactStore Artifacts { get; } = artifacts ?? new FileSystemArtifactStore(options.DataPath);

    /// <summary>Split names, in the order their bytes make up the dataset's SHA-256.</summary>
    public static readonly string[] Splits = ["train", "valid", "test"];

    /// <summary>The multipart field name of a single file that is split at upload.</summary>
    public const string SingleFileField = "file";

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>Where uploads are written before they are committed (and, with the file system, where datasets live).</summary>
    public string Root => Path.Combine(options.DataPath, "datasets");

    /// <summary>Starts an upload; add files with <see cref="DatasetUpload.AddFileAsync"/>, then commit. Disposing an uncommitted upload removes its files.</summary>
    public DatasetUpload BeginUpload(string? name, long? maxBytes = null)
    {
        var id = Guid.CreateVersion7().ToString("N");
        var temp = Path.Combine(Root, $".upload-{id}");
        Directory.CreateDirectory(temp);
        return new DatasetUpload(this, id, string.IsNullOrWhiteSpace(name) ? null : name.Trim(), temp, maxBytes ?? options.Serving.MaxUploadBytes);
    }

    /// <summary>A small corpus given as text: one text split at upload, or the three splits.</summary>
    public async Task<DatasetRecord> CreateFromTextAsync(string? name, string? text, string? train = null, string? valid = null, string? test = null, CancellationToken ct = default)
    {
        await using var upload = BeginUpload(name);
        if (text is not null) await upload.AddFileAsync(SingleFileField, new MemoryStream(Encoding.UTF8.GetBytes(text)), ct);
        if (train is not null) await upload.AddFileAsync("train", new MemoryStream(Encoding.UTF8.GetBytes(train)), ct);
        if (valid is not null) await upload.AddFileAsync("valid", new MemoryStream(Encoding.UTF8.GetBytes(valid)), ct);
        if (test is not null) await upload.AddFileAsync("test", new MemoryStream(Encoding.UTF8.GetBytes(test)), ct);
        return await upload.CommitAsync(ct);
    }

    public async Task<DatasetRecord?> GetAsync(string id, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        return await db.Datasets.AsNoTracking().FirstOrDefaultAsync(d => d.Id == id, ct);
    }

    /// <summary>Datasets, newest first.</summary>
    public async Task<(IReadOnlyList<DatasetRecord> Items, int Total)> ListAsync(int offset = 0, int limit = 50, CancellationToken ct = default)
    {
        await using var db = dbFactory.CreateDbContext();
        var total = await db.Datasets.CountAsync(ct);
        var items = await db.Datasets.AsNoTracking().OrderByDescending(d => d.CreatedAt).ThenByDescending(d => d.Id)
            .Skip(offset).Take(limit).ToListAsync(ct);
        return (items, total);
    }

    /// <summary>Deletes a dataset and its files; <see cref="ConflictException"/> while a queued or running job uses it.</summary>
    public async Task DeleteAsync(string id, CancellationToken ct = default)
    {
        var record = await GetAsync(id, ct) ?? throw new NotFoundException("dataset", id);
        if (await jobs.IsDatasetInUseAsync(id, ct))
            throw new ConflictException($"Dataset '{id}' is used by a queued or running training job; cancel the job or wait for it to finish.");
        await using (var db = dbFactory.CreateDbContext())
            await db.Datasets.Where(d => d.Id == id).ExecuteDeleteAsync(ct);
        await Artifacts.DeleteAsync(record.Directory, ct);
        await Artifacts.DeleteAsync(PreparationsPath(record.Id), ct);   // published preparation states (object storage only)
    }

    /// <summary>
    /// A local directory with the dataset's <c>train.txt</c>, <c>valid.txt</c> and <c>test.txt</c>: the data directory's own,
    /// or this node's copy of the bucket's (fetched once); null when its files are gone.
    /// </summary>
    public Task<string?> LocalDirectoryAsync(DatasetRecord dataset, CancellationToken ct = default) =>
        Artifacts.GetDirectoryAsync(dataset.Directory, ct);

    /// <summary>One split's file (<c>train</c>, <c>valid</c> or <c>test</c>) in a directory from <see cref="LocalDirectoryAsync"/>.</summary>
    public static string SplitPath(string localDirectory, string split) => Path.Combine(localDirectory, $"{split}.txt");

    /// <summary>
    /// The dataset's token files and their state (<see cref="TokenFiles.Statuses"/>): on the file system, read from its
    /// directory; with object storage, where each worker prepares its own local copy, the states the training processes
    /// published to the bucket (<see cref="PreparationStatusPath"/>), so an API on another machine sees them too.
    /// </summary>
    public async Task<IReadOnlyList<PreparationStatus>> PreparationsAsync(DatasetRecord dataset, CancellationToken ct = default)
    {
        if (Artifacts.PutsByRename) return TokenFiles.Statuses(Path.Combine(options.DataPath, dataset.Directory));
        var result = new List<PreparationStatus>();
        foreach (var file in await Artifacts.ListAsync(PreparationsPath(dataset.Id), ct))
            if (await Artifacts.ReadTextAsync(ArtifactPaths.Join(PreparationsPath(dataset.Id), file), ct) is { } json
                && TokenFiles.ParseStatus(json) is { } status)
                result.Add(status);
        return result;
    }

    /// <summary>Where the states of a dataset's preparations are published with object storage: <c>prepared/{datasetId}</c>.</summary>
    public static string PreparationsPath(string datasetId) => $"prepared/{datasetId}";

    /// <summary>The published state of one preparation (<c>prepared/{datasetId}/{key}.json</c>).</summary>
    public static string PreparationStatusPath(string datasetId, TokenFileKey key) => $"{PreparationsPath(datasetId)}/{key.DirectoryName}.json";

    internal async Task<DatasetRecord> InsertAsync(DatasetRecord record, CancellationToken ct)
    {
        record.CreatedAt = _clock.GetUtcNow().UtcDateTime;
        await using var db = dbFactory.CreateDbContext();
        db.Datasets.Add(record);
        await db.SaveChangesAsync(ct);
        return record;
    }
}
