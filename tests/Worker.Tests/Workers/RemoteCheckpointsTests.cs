using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using RnnLmService.Core.Configuration;
using RnnLmService.Core.Storage.Artifacts;
using RnnLmService.Core.Training;
using RnnLmService.Tests.Shared;
using RnnLmService.Worker.Child;

namespace RnnLmService.Worker.Tests.Workers;

/// <summary>Checkpoints kept in a bucket (s3rver on loopback), so a worker elsewhere resumes where another stopped.</summary>
public sealed class RemoteCheckpointsTests : IDisposable
{
    private readonly S3rverServer _s3 = new();
    private readonly string _root = Directory.CreateTempSubdirectory("rnnlm-remote-ckpt-").FullName;

    private S3ArtifactStore Bucket(string bucket, string node) => new(new S3StorageOptions
    {
        Endpoint = _s3.Endpoint, Bucket = bucket, AccessKey = S3rverServer.AccessKey, SecretKey = S3rverServer.SecretKey,
    }, Path.Combine(_root, node, "cache"));

    /// <summary>A checkpoint directory as <see cref="Checkpoint"/> writes it: <c>latest/</c> with a state and weights.</summary>
    private string WriteCheckpoint(string claimDirectory, long globalStep)
    {
        var latest = Path.Combine(claimDirectory, "latest");
        if (Directory.Exists(latest)) Directory.Delete(latest, recursive: true);
        Directory.CreateDirectory(latest);
        var state = new CheckpointState { Spec = new TrainingSpec(), GlobalStep = globalStep, Epoch = 1, Batch = 3, LearningRate = 5 };
        File.WriteAllText(Path.Combine(latest, "state.json"), JsonSerializer.Serialize(state, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
        File.WriteAllBytes(Path.Combine(latest, "weights.bin"), Enumerable.Range(0, 4096).Select(i => (byte)(i * globalStep)).ToArray());
        return latest;
    }

    [Fact]
    public async Task A_stored_checkpoint_is_adopted_by_a_claim_on_another_node_and_older_ones_are_dropped()
    {
        var bucket = S3rverServer.NewBucket();
        using var storeA = Bucket(bucket, "a");
        var claimA = Path.Combine(_root, "a", "checkpoints", "job1", "claimA");
        var remoteA = new RemoteCheckpoints(storeA, "job1", "claimA", NullLogger.Instance);
        remoteA.Upload(WriteCheckpoint(claimA, 10), 10);
        var latest = WriteCheckpoint(claimA, 20);
        remoteA.Upload(latest, 20);
        // Only the newest of the claim stays, with its state last-written and complete.
        Assert.Equal(["claimA/000000000020/state.json", "claimA/000000000020/weights.bin"], await storeA.ListAsync("checkpoints/job1"));

        // Another node, with nothing local: it takes the stored checkpoint, byte for byte.
        using var storeB = Bucket(bucket, "b");
        var claimB = Path.Combine(_root, "b", "checkpoints", "job1", "claimB");
        Directory.CreateDirectory(claimB);
        var remoteB = new RemoteCheckpoints(storeB, "job1", "claimB", NullLogger.Instance);
        Assert.True(remoteB.AdoptIfNewer(claimB, localGlobalStep: -1));
        Assert.Equal(20, Checkpoint.ReadState(claimB)!.GlobalStep);
        Assert.Equal(File.ReadAllBytes(Path.Combine(latest, "weights.bin")), File.ReadAllBytes(Path.Combine(claimB, "latest", "weights.bin")));

        // A local checkpoint as far or further is kept.
        Assert.False(remoteB.AdoptIfNewer(claimB, localGlobalStep: 20));
        // A job with nothing stored adopts nothing.
        Assert.False(new RemoteCheckpoints(storeB, "job2", "claimC", NullLogger.Instance).AdoptIfNewer(claimB, -1));
    }

    [Fact]
    public async Task A_stored_checkpoint_without_its_state_is_not_adopted()
    {
        var bucket = S3rverServer.NewBucket();
        using var store = Bucket(bucket, "a");
        var partial = Path.Combine(_root, "partial");
        Directory.CreateDirectory(partial);
        File.WriteAllBytes(Path.Combine(partial, "weights.bin"), [1, 2, 3]);
        // What an upload cut short before its state.json leaves: the weights alone.
        await store.PutDirectoryAsync(partial, "checkpoints/job1/claimA/000000000030", "state.json");
        var claimB = Path.Combine(_root, "b", "claimB");
        Directory.CreateDirectory(claimB);
        Assert.False(new RemoteCheckpoints(store, "job1", "claimB", NullLogger.Instance).AdoptIfNewer(claimB, -1));
    }

    public void Dispose()
    {
        _s3.Dispose();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
