using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using RnnLmService.Api.Errors;
using RnnLmService.Core.Storage;
using RnnLmService.Api.Serving;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage.Artifacts;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;

namespace RnnLmService.Api.Models;

/// <summary>
/// Which model versions exist (read from the store, re-read every <c>RnnLm:Serving:ModelPollInterval</c> so a
/// version written by a training job or another process becomes addressable without a restart) and which are
/// loaded in this process. Loading is single-flight per version; unloading waits for the requests in flight
/// (each request holds a <see cref="ModelLease"/>) at most <c>RnnLm:Serving:UnloadTimeout</c>. The default model is kept
/// loaded; any other version, whether named by a bare name or as <c>name@version</c>, is loaded for the request and
/// stays for its keep-alive (<c>RnnLm:Serving:KeepAlive</c> or the request's <c>keepAlive</c>, as Ollama's
/// <c>keep_alive</c>). At most <c>RnnLm:Serving:MaxLoadedModels</c> versions are loaded: loading one more unloads the
/// least recently used idle one (not the default model), or refuses with 503 when all are in use.
/// </summary>
public sealed class ModelRegistry(
    ModelVersionStore store,
    IServedModelLoader loader,
    IOptions<RnnLmOptions> options,
    ServingMetrics metrics,
    IArtifactStore artifacts,
    ILogger<ModelRegistry> logger,
    JobStore? jobs = null) : BackgroundService
{
    private static readonly TimeSpan NotReadyRetry = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, Lazy<Task<LoadedModel>>> loaded = new();
    private readonly SemaphoreSlim admission = new(1, 1);
    private volatile ModelCatalog catalog = ModelCatalog.Empty;

    /// <summary>The versions and default model as last read from the store.</summary>
    public ModelCatalog Catalog => catalog;

    /// <summary>Whether a version (<c>name@version</c>) is loaded and ready in this process.</summary>
    public bool IsLoaded(string key) =>
        loaded.TryGetValue(key, out var entry) && entry.IsValueCreated && entry.Value.IsCompletedSuccessfully;

    /// <summary>Re-reads versions and the default model from the store.</summary>
    public async Task<ModelCatalog> RefreshAsync(CancellationToken cancellationToken = default)
    {
        var versions = await store.ListAsync(ct: cancellationToken);
        var defaultModel = await store.GetDefaultModelAsync(cancellationToken);
        var fresh = new ModelCatalog(versions, defaultModel);
        catalog = fresh;
        return fresh;
    }

    /// <summary>
    /// The version a client's model string names (null or empty: the default model). Unknown names are looked
    /// up in the store once more before failing, so a version written a moment ago is found.
    /// </summary>
    public async Task<ModelVersionRecord> ResolveAsync(string? model, CancellationToken cancellationToken = default, string field = "model")
    {
        if (catalog.Resolve(model, field) is { } known) return known;
        var fresh = await RefreshAsync(cancellationToken);
        if (fresh.Resolve(model, field) is { } found) return found;
        var named = string.IsNullOrEmpty(model) ? null : ModelAddress.Parse(model, field).Name;
        // A model a queued or running job will produce is not ready yet rather than missing: say which job and when.
        if (jobs is not null && await jobs.PendingForModelAsync(named ?? (fresh.Versions.Count == 0 ? null : fresh.DefaultModel), cancellationToken) is { } pending)
            throw PendingModel(pending, named ?? pending.ModelName, field);
        if (fresh.Versions.Count == 0 && named is null)
            throw new ModelNotReadyException("No model has been trained yet and no training job is queued: upload a dataset (POST /api/datasets) "
                + "and start a training job (POST /api/training-jobs).", NotReadyRetry, field);
        if (named is null)
            throw new ModelNotReadyException($"The default model '{fresh.DefaultModel}' does not exist; set another with PUT /api/models/{{model}}/default.", NotReadyRetry, field);
        throw new NotFoundException($"There is no model '{model}' and no training job is producing it. GET /api/models lists the models.", field, "model_not_found");
    }

    /// <summary>503 naming the job that will produce <paramref name="name"/>, its state, progress and estimated time left.</summary>
    private static ModelNotReadyException PendingModel(TrainingJobRecord job, string name, string field)
    {
        double? eta = job.Status == JobStatus.Running && job.Step > 0 && job.TotalSteps >= job.Step && job.RunSeconds > 0
            ? job.RunSeconds / job.Step * (job.TotalSteps - job.Step)
            : null;
        var progress = job.Status == JobStatus.Running && job.TotalSteps > 0
            ? $", epoch {job.Epoch} of {job.TotalEpochs}, step {job.Step} of {job.TotalSteps}" + (eta is { } s ? $", about {Math.Ceiling(s)} s left" : "")
            : "";
        var state = job.Status == JobStatus.Running ? "running" : "queued";
        var retry = TimeSpan.FromSeconds(Math.Clamp(eta ?? NotReadyRetry.TotalSeconds, 1, 300));
        return new ModelNotReadyException(
            $"Model '{name}' is not ready yet: training job {job.Id} will produce it ({state}{progress}). GET /api/training-jobs/{job.Id} follows it.",
            retry, field, new Dictionary<string, object?> { ["jobId"] = job.Id, ["jobStatus"] = state, ["etaSeconds"] = eta is { } e ? Math.Round(e, 1) : null });
    }

    /// <summary>
    /// Resolves, loads if needed, and holds the version until the lease is disposed; then it stays loaded for
    /// <paramref name="keepAlive"/> (null: the configured default; negative: until unloaded; zero: unloaded at once when idle).
    /// </summary>
    public async Task<ModelLease> AcquireAsync(string? model, CancellationToken cancellationToken = default, string field = "model", TimeSpan? keepAlive = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            var record = await ResolveAsync(model, cancellationToken, field);
            var entry = await GetOrLoadAsync(record, pin: false).WaitAsync(cancellationToken);
            if (entry.TryAcquire())
                return new ModelLease(record, entry, keepAlive, options.Value.Serving.KeepAlive, Released);
            if (attempt >= 3)
                throw new ModelNotReadyException($"Model '{model}' is being unloaded; try again.", TimeSpan.FromSeconds(1), field);
        }
    }

    /// <summary>Loads a version (POST load); it stays loaded until unloaded, or for <paramref name="keepAlive"/> when given.</summary>
    public async Task<ModelVersionRecord> LoadAsync(string model, CancellationToken cancellationToken = default, TimeSpan? keepAlive = null)
    {
        var record = await ResolveAsync(model, cancellationToken);
        var entry = await GetOrLoadAsync(record, pin: keepAlive is null).WaitAsync(cancellationToken);
        if (keepAlive is { } k) entry.KeepAlive(k);
        return record;
    }

    /// <summary>After a request: a version whose keep-alive has already passed (keepAlive 0) is unloaded now.</summary>
    private void Released(LoadedModel entry)
    {
        if (!entry.Expired(DateTime.UtcNow) || IsDefault(entry.Record)) return;
        _ = UnloadIdleAsync(ModelAddress.Key(entry.Record.Name, entry.Record.Version), entry);
    }

    private bool IsDefault(ModelVersionRecord record) =>
        catalog.Resolve(null, "model") is { } d && d.Name == record.Name && d.Version == record.Version;

    /// <summary>Unloads <paramref name="key"/> if it is still <paramref name="entry"/> and idle.</summary>
    private async Task UnloadIdleAsync(string key, LoadedModel entry)
    {
        try
        {
            if (!entry.Idle || !loaded.TryGetValue(key, out var lazy) || !lazy.IsValueCreated || !lazy.Value.IsCompletedSuccessfully || lazy.Value.Result != entry) return;
            logger.LogInformation("Unloading {Model}: its keep-alive has passed", key);
            await UnloadKeyAsync(key);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Unloading {Model} failed", key);
        }
    }

    /// <summary>Unloads a version after its requests in flight finish; false when it was not loaded.</summary>
    public async Task<(ModelVersionRecord Record, bool WasLoaded)> UnloadAsync(string model, CancellationToken cancellationToken = default)
    {
        var record = await ResolveAsync(model, cancellationToken);
        return (record, await UnloadKeyAsync(ModelAddress.Key(record.Name, record.Version)));
    }

    /// <summary>Deletes one version (<c>name@version</c>) or every version of a name: unloads, removes the records and the files.</summary>
    public async Task<IReadOnlyList<ModelVersionRecord>> DeleteAsync(string model, CancellationToken cancellationToken = default)
    {
        var address = ModelAddress.Parse(model);
        await RefreshAsync(cancellationToken);
        var doomed = catalog.Versions.Where(v => v.Name == address.Name && (address.Version is null || v.Version == address.Version)).ToList();
        if (doomed.Count == 0)
            throw new NotFoundException($"There is no model '{model}'. GET /api/models lists the models.", "model", "model_not_found");
        foreach (var record in doomed)
        {
            await UnloadKeyAsync(ModelAddress.Key(record.Name, record.Version));
            await store.DeleteAsync(record.Name, record.Version, cancellationToken);
            try
            {
                await artifacts.DeleteAsync(record.ArtifactPath, CancellationToken.None);
            }
            catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)   // the record is gone; files are only space
            {
                logger.LogWarning(e, "Could not delete the files of {Model}@{Version} at {Path}", record.Name, record.Version, record.ArtifactPath);
            }
        }
        await RefreshAsync(cancellationToken);
        return doomed;
    }

    /// <summary>Makes <paramref name="model"/> the default model (and, for <c>name@version</c>, what the bare name resolves to).</summary>
    public async Task<ModelVersionRecord> SetDefaultAsync(string model, CancellationToken cancellationToken = default)
    {
        var address = ModelAddress.Parse(model);
        var record = await ResolveAsync(model, cancellationToken);
        if (address.Version is not null)
            await store.PromoteAsync(record.Name, record.Version, cancellationToken);
        else
            await store.SetDefaultModelAsync(record.Name, cancellationToken);
        await RefreshAsync(cancellationToken);
        _ = GetOrLoadAsync(record, pin: false); // warm it up for readiness; errors surface on first use
        return record;
    }

    /// <summary>Keeps the catalog fresh, the default model loaded and superseded versions unloaded.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PollOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Refreshing the model catalog failed; keeping the previous one");
            }
            try
            {
                await Task.Delay(options.Value.Serving.ModelPollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    internal async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        var current = await RefreshAsync(cancellationToken);
        foreach (var (key, entry) in loaded)
        {
            if (!entry.IsValueCreated || !entry.Value.IsCompletedSuccessfully) continue;
            var model = entry.Value.Result;
            var gone = current.Find(model.Record.Name, model.Record.Version) is null;
            var superseded = !model.Pinned && model.Idle && current.Resolve(model.Record.Name, "model") is { } now && now.Version != model.Record.Version;
            var expired = model.Expired(DateTime.UtcNow) && !IsDefault(model.Record);
            if (gone || superseded || expired)
            {
                logger.LogInformation("Unloading {Model}: {Reason}", key,
                    gone ? "removed from the store" : superseded ? "a newer version is addressable" : "its keep-alive has passed");
                await UnloadKeyAsync(key);
            }
        }
        if (current.Resolve(null, "model") is { } defaultRecord)
        {
            try
            {
                await GetOrLoadAsync(defaultRecord, pin: false);
            }
            catch (Exception e)
            {
                logger.LogError(e, "The default model {Model}@{Version} could not be loaded", defaultRecord.Name, defaultRecord.Version);
            }
        }
    }

    /// <summary>Readiness: the default model resolves and is loaded.</summary>
    public (bool Ready, string Description) DefaultModelStatus()
    {
        var current = catalog;
        if (current.Resolve(null, "model") is not { } record)
            return (false, current.Versions.Count == 0 ? "No model version exists yet." : $"The default model '{current.DefaultModel}' does not exist.");
        var key = ModelAddress.Key(record.Name, record.Version);
        return IsLoaded(key) ? (true, $"Default model {key} is loaded.") : (false, $"Default model {key} is not loaded yet.");
    }

    private async Task<LoadedModel> GetOrLoadAsync(ModelVersionRecord record, bool pin)
    {
        var key = ModelAddress.Key(record.Name, record.Version);
        Task<LoadedModel> task;
        if (loaded.TryGetValue(key, out var existing))
        {
            task = existing.Value;
        }
        else
        {
            await admission.WaitAsync();
            try
            {
                if (!loaded.ContainsKey(key)) await MakeRoomAsync(record);
                Lazy<Task<LoadedModel>>? mine = null;
                mine = new Lazy<Task<LoadedModel>>(() => LoadCoreAsync(key, record, mine!));
                task = loaded.GetOrAdd(key, mine).Value;
            }
            finally
            {
                admission.Release();
            }
        }
        var entry = await task;
        if (pin) entry.Pinned = true;
        return entry;

        async Task<LoadedModel> LoadCoreAsync(string k, ModelVersionRecord r, Lazy<Task<LoadedModel>> self)
        {
            try
            {
                // The data directory's own copy, or this node's hash-checked cache of the bucket's.
                var directory = await artifacts.GetModelDirectoryAsync(r.ArtifactPath, CancellationToken.None);
                logger.LogInformation("Loading model {Model} from {Directory}", k, directory);
                var model = await loader.LoadAsync(k, directory, CancellationToken.None);
                metrics.ModelLoaded(+1);
                return new LoadedModel(r, model, options.Value.Serving.KeepAlive) { Pinned = pin };
            }
            catch
            {
                // A failed load is forgotten so that the next request tries again.
                loaded.TryRemove(new KeyValuePair<string, Lazy<Task<LoadedModel>>>(k, self));
                throw;
            }
        }
    }

    /// <summary>
    /// Below <c>MaxLoadedModels</c> before loading <paramref name="incoming"/>: unloads the least recently used idle
    /// version (never the default model; unpinned ones first), or throws 503 when every loaded version is in use.
    /// </summary>
    private async Task MakeRoomAsync(ModelVersionRecord incoming)
    {
        var max = options.Value.Serving.MaxLoadedModels;
        while (loaded.Count >= max)
        {
            var victim = loaded
                .Where(e => e.Value.IsValueCreated && e.Value.Value.IsCompletedSuccessfully)
                .Select(e => (e.Key, Model: e.Value.Value.Result))
                .Where(e => e.Model.Idle && !IsDefault(e.Model.Record))
                .OrderBy(e => e.Model.Pinned).ThenBy(e => e.Model.LastUsed)
                .FirstOrDefault();
            if (victim.Model is null)
                throw new ModelNotReadyException($"Cannot load {incoming.Name}@{incoming.Version}: {max} model versions are loaded and in use "
                    + "(RnnLm:Serving:MaxLoadedModels); try again shortly.", TimeSpan.FromSeconds(1));
            logger.LogInformation("Unloading {Model}: the least recently used of {Max} loaded versions", victim.Key, max);
            await UnloadKeyAsync(victim.Key);
        }
    }

    private async Task<bool> UnloadKeyAsync(string key)
    {
        if (!loaded.TryRemove(key, out var lazy)) return false;
        LoadedModel model;
        try
        {
            model = await lazy.Value;
        }
        catch
        {
            return false;
        }
        var timeout = options.Value.Serving.UnloadTimeout;
        try
        {
            await model.CloseAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            logger.LogWarning("Unloading {Model}: requests still in flight after {Timeout}; unloading anyway (they get 503)", key, timeout);
        }
        model.Model.Dispose();
        metrics.ModelLoaded(-1);
        logger.LogInformation("Unloaded model {Model}", key);
        return true;
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        foreach (var key in loaded.Keys.ToList())
            UnloadKeyAsync(key).GetAwaiter().GetResult();
        base.Dispose();
    }
}
