using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using RnnLmService.Core;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Artifacts;
using RnnLmService.Core.Storage.Datasets;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;
using RnnLmService.Core.Text.Prepared;
using RnnLmService.Core.Training;
using Serilog;
using Serilog.Extensions.Logging;
using TorchSharp;

namespace RnnLmService.Worker.Child;

/// <summary>
/// The training process of one claim (<c>RnnLmService.Worker.dll run-job</c>, see <see cref="ChildProtocol"/>): sets
/// its own torch threads, resumes from the job's newest complete checkpoint, trains with the Core
/// <see cref="Trainer"/>, and writes the model to staging when the parent hands it a version number. It owns its
/// LibTorch threads, RNG and allocator, so nothing of it lives in the API process.
/// </summary>
public static class JobProcess
{
    private static readonly object WriteLock = new();

    /// <summary>Runs the job read from standard input; returns the process's exit code.</summary>
    public static int Run()
    {
        var input = Console.In;
        var requestLine = input.ReadLine();
        if (string.IsNullOrWhiteSpace(requestLine)) return ExitCodes.ParentGone;
        var request = JsonSerializer.Deserialize<JobRunRequest>(requestLine, ChildProtocol.Json)!;

        using var serilog = new LoggerConfiguration().MinimumLevel.Information()
            .WriteTo.Console(standardErrorFromLevel: Serilog.Events.LogEventLevel.Verbose, outputTemplate: "{Message:lj}{NewLine}{Exception}")
            .CreateLogger();
        using var loggerFactory = new SerilogLoggerFactory(serilog);
        var logger = loggerFactory.CreateLogger("RnnLmService.Worker.JobProcess");

        var stop = new CancellationTokenSource();
        // SIGTERM (cancel, lost claim, shutdown): checkpoint at the next batch boundary, then exit.
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Cancel(); });
        var saveVersion = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        StartCommandReader(input, saveVersion);

        try
        {
            NativeRuntime.EnsureLoaded();
            if (request.TorchThreads > 0) torch.set_num_threads(request.TorchThreads);
            Send(new ChildMessage
            {
                Type = ChildMessageTypes.Started, Pid = Environment.ProcessId, TorchThreads = torch.get_num_threads(),
                BaselineRssBytes = ProcStatus.PeakResidentBytes(),
            });
            TestFault.AtStart(request.ModelName);

            var spec = JobSpecJson.Deserialize(request.SpecJson);
            AdoptNewestCheckpoint(request, logger);
            using var bucket = request.ObjectStorage is { } s3
                ? new S3ArtifactStore(s3, Path.Combine(request.JobCheckpointsDirectory, ".cache"))
                : null;
            var remote = bucket is null ? null : new RemoteCheckpoints(bucket, request.JobId, Path.GetFileName(request.CheckpointDirectory), logger);
            remote?.AdoptIfNewer(request.CheckpointDirectory, TryReadState(request.CheckpointDirectory)?.GlobalStep ?? -1);
            // A warm start reads the new text with its parent's tokenizer and vocabulary: the dataset's token files (ids in
            // the dataset's own frequency order) do not hold those ids, so it reads the text in memory.
            using var corpus = spec.Init is null ? OpenTokenFiles(request, spec.Tokenizer, bucket, logger, stop.Token) : null;

            var sinceCheckpoint = System.Diagnostics.Stopwatch.StartNew();
            var runContext = new TrainingRunContext
            {
                WarmStart = spec.Init is { } parent && request.InitModelDirectory is { } parentDir ? ModelArtifacts.ReadWarmStart(parentDir, parent) : null,
                CheckpointDirectory = request.CheckpointDirectory,
                Resume = true,
                Cancellation = stop.Token,
                CheckpointOnCancel = true,
                CheckpointNow = () => sinceCheckpoint.Elapsed.TotalSeconds >= request.CheckpointIntervalSeconds,
                ReportEverySteps = request.ReportEverySteps,
                Logger = logger,
                Resumed = r => Send(new ChildMessage { Type = ChildMessageTypes.Resumed, Epoch = r.Epoch, Step = r.Step, GlobalStep = r.GlobalStep }),
                Checkpointed = r =>
                {
                    remote?.Upload(Checkpoint.LatestDirectory(request.CheckpointDirectory)!, r.GlobalStep);
                    sinceCheckpoint.Restart();
                    Send(new ChildMessage { Type = ChildMessageTypes.Checkpointed, Epoch = r.Epoch, Step = r.Step, GlobalStep = r.GlobalStep });
                },
                Progress = p => Send(new ChildMessage { Type = ChildMessageTypes.Progress, Progress = p }),
            };
            using var result = corpus is not null
                ? new Trainer(spec).Run(corpus, runContext)
                : new Trainer(spec).Run(new CorpusSplits(
                    CorpusReader.ReadUtf8(request.TrainPath, "train"),
                    CorpusReader.ReadUtf8(request.ValidPath, "valid"),
                    CorpusReader.ReadUtf8(request.TestPath, "test")), runContext);

            Send(new ChildMessage
            {
                Type = ChildMessageTypes.Trained,
                MetricsJson = JsonSerializer.Serialize(result.Metrics, ModelManifest.JsonOptions),
                TestPerplexity = result.Metrics.TestPerplexity,
                PeakRssBytes = ProcStatus.PeakResidentBytes(),
            });
            // Wait for the version number (the parent keeps the claim alive meanwhile); a stop now leaves the
            // checkpoint written after the last epoch, so the next attempt only evaluates and saves.
            saveVersion.Task.Wait(stop.Token);
            var version = saveVersion.Task.Result;
            var target = Path.Combine(request.StagingDirectory, "model");
            if (Directory.Exists(request.StagingDirectory)) Directory.Delete(request.StagingDirectory, recursive: true);
            ModelArtifacts.Save(target, request.ModelName, version, result, request.DatasetSha256);
            TestFault.AfterSave(request.ModelName);
            Durable.FlushTree(request.StagingDirectory);
            Send(new ChildMessage { Type = ChildMessageTypes.Saved, PeakRssBytes = ProcStatus.PeakResidentBytes() });
            return ExitCodes.Done;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Send(new ChildMessage { Type = ChildMessageTypes.Stopped });
            return ExitCodes.Done;
        }
        catch (Exception e) when (IsJobError(e))
        {
            logger.LogError(e, "Job {JobId} failed", request.JobId);
            Send(new ChildMessage { Type = ChildMessageTypes.Failed, Reason = Describe(e) });
            return ExitCodes.JobFailed;
        }
    }

    /// <summary>
    /// The dataset as memory-mapped token files for the job's tokenizer settings: prepared here when no job prepared
    /// them before (continuing a preparation a killed process left), waited for while another process prepares them.
    /// The dataset's directory is the one holding its split files.
    /// </summary>
    private static PreparedCorpus OpenTokenFiles(JobRunRequest request, TokenizerOptions tokenizer, S3ArtifactStore? bucket,
        Microsoft.Extensions.Logging.ILogger logger, CancellationToken ct)
    {
        var datasetDirectory = Path.GetDirectoryName(Path.GetFullPath(request.TrainPath))!;
        var preparer = new TokenFilePreparer(new PreparationSettings { AfterPhase = TestFault.InPreparation(request.ModelName) }, logger);
        if (bucket is null) return TokenFiles.Open(preparer.Prepare(datasetDirectory, tokenizer, ct), tokenizer);

        // With object storage the token files are this node's own cache, out of the API's sight: publish their state to the
        // bucket (DatasetStore.PreparationsAsync reads it). The local dataset directory is the bucket's copy, named by its id.
        var key = TokenFileKey.Of(tokenizer);
        var path = DatasetStore.PreparationStatusPath(Path.GetFileName(datasetDirectory), key);
        void Publish(PreparationStatus status) =>
            bucket.WriteTextAsync(path, TokenFiles.StatusJson(status), CancellationToken.None).GetAwaiter().GetResult();
        Publish(new PreparationStatus { Key = key, Status = PreparationStatus.Preparing, StartedAt = DateTime.UtcNow });
        try
        {
            var ready = preparer.Prepare(datasetDirectory, tokenizer, ct);
            Publish(TokenFiles.Statuses(datasetDirectory).FirstOrDefault(s => s.Key == key)
                ?? new PreparationStatus { Key = key, Status = PreparationStatus.Ready });
            return TokenFiles.Open(ready, tokenizer);
        }
        catch (Exception e)
        {
            Publish(e is OperationCanceledException
                ? new PreparationStatus { Key = key, Status = PreparationStatus.Interrupted }
                : new PreparationStatus { Key = key, Status = PreparationStatus.Failed, Reason = Describe(e) });
            throw;
        }
    }

    /// <summary>Problems of the job itself (settings, corpus, an unreadable checkpoint), which a retry would meet again.</summary>
    private static bool IsJobError(Exception e) => e is InvalidSettingException or CorpusException or ModelFormatException or NotFoundException;

    /// <summary>A client-facing reason: the message, without a stack or a path (a model file's path stays in the log).</summary>
    internal static string Describe(Exception e) => e switch
    {
        InvalidSettingException s => $"{s.Field}: {s.Reason}",
        ModelFormatException m => m.Reason,
        _ => e.Message,
    };

    /// <summary>
    /// Copies the newest complete checkpoint of any claim of this job (most global steps) into this claim's own
    /// directory, fsynced, so this process resumes from it and never writes into another claim's directory.
    /// </summary>
    private static void AdoptNewestCheckpoint(JobRunRequest request, Microsoft.Extensions.Logging.ILogger logger)
    {
        Directory.CreateDirectory(request.CheckpointDirectory);
        var newest = Directory.GetDirectories(request.JobCheckpointsDirectory)
            .Select(d => (Dir: d, State: TryReadState(d)))
            .Where(c => c.State is not null)
            .OrderByDescending(c => c.State!.GlobalStep).ThenByDescending(c => c.State!.Epoch)
            .FirstOrDefault();
        if (newest.Dir is null || Path.GetFullPath(newest.Dir) == Path.GetFullPath(request.CheckpointDirectory)) return;
        var source = Checkpoint.LatestDirectory(newest.Dir)!;
        var tmp = Path.Combine(request.CheckpointDirectory, $".adopt-{Guid.NewGuid():N}");
        Directory.CreateDirectory(tmp);
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(tmp, Path.GetFileName(file)));
        Durable.FlushTree(tmp);
        var latest = Path.Combine(request.CheckpointDirectory, "latest");
        if (Directory.Exists(latest)) Directory.Delete(latest, recursive: true);
        Durable.MoveDirectory(tmp, latest);
        logger.LogInformation("Resuming from the checkpoint of claim {Claim} (global step {Step})", Path.GetFileName(newest.Dir), newest.State!.GlobalStep);
    }

    private static CheckpointState? TryReadState(string directory)
    {
        try { return Checkpoint.ReadState(directory); }
        catch (Exception e) when (e is ModelFormatException or IOException) { return null; }
    }

    /// <summary>Reads the parent's commands; end of file means the parent died: stop at once.</summary>
    private static void StartCommandReader(TextReader input, TaskCompletionSource<int> saveVersion)
    {
        var thread = new Thread(() =>
        {
            string? line;
            while ((line = input.ReadLine()) is not null)
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts is [ChildProtocol.SaveCommand, var v] && int.TryParse(v, out var version)) saveVersion.TrySetResult(version);
            }
            Environment.Exit(ExitCodes.ParentGone);
        }) { IsBackground = true, Name = "parent-commands" };
        thread.Start();
    }

    private static void Send(ChildMessage message)
    {
        var line = JsonSerializer.Serialize(message, ChildProtocol.Json);
        lock (WriteLock)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }

    /// <summary>
    /// Faults for the crash tests, chosen by the parent through <c>RnnLm:Worker:ChildEnvironment:RNNLM_CHILD_FAULT</c>
    /// as <c>{fault}:{model name}</c>: <c>kill-at-start</c> (SIGKILL itself once started, as the kernel's OOM killer
    /// would), <c>kill-after-counting</c> (once the dataset preparation's counting pass is done) or <c>kill-after-save</c>,
    /// for jobs of that model name only.
    /// </summary>
    private static class TestFault
    {
        private static readonly string? Fault = Environment.GetEnvironmentVariable("RNNLM_CHILD_FAULT");
        public static void AtStart(string model) { if (Fault == $"kill-at-start:{model}") Signals.Send(Environment.ProcessId, Signals.Kill); }
        public static void AfterSave(string model) { if (Fault == $"kill-after-save:{model}") Signals.Send(Environment.ProcessId, Signals.Kill); }
        public static Action<string>? InPreparation(string model) => Fault == $"kill-after-counting:{model}"
            ? phase => { if (phase == "counting") Signals.Send(Environment.ProcessId, Signals.Kill); }
            : null;
    }
}
