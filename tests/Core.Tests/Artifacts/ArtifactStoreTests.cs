using RnnLmService.Core.Configuration;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Artifacts;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Tests.Engine;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;
using RnnLmService.Tests.Shared;

namespace RnnLmService.Core.Tests.Artifacts;

/// <summary>The same tests for both providers: the data directory, and a bucket on a real S3 server (s3rver on loopback).</summary>
[Collection(SerialTorchCollection.Name)]
public sealed class ArtifactStoreTests(ArtifactStoreTests.Server server) : IClassFixture<ArtifactStoreTests.Server>
{
    public sealed class Server : IDisposable
    {
        public S3rverServer S3 { get; } = new();
        public void Dispose() => S3.Dispose();
    }

    public static TheoryData<string> Providers => new() { "filesystem", "s3" };

    private IArtifactStore Create(string provider, TempDir dir) => ArtifactStores.Create(new StorageOptions
    {
        Provider = provider,
        S3 = new S3StorageOptions
        {
            Endpoint = server.S3.Endpoint, Bucket = S3rverServer.NewBucket(), AccessKey = S3rverServer.AccessKey, SecretKey = S3rverServer.SecretKey,
        },
    }, dir.Sub("data"));

    private static string LocalDirectory(TempDir dir, params (string Name, string Text)[] files)
    {
        var local = dir.Sub($"staged-{Guid.NewGuid():N}");
        foreach (var (name, text) in files)
        {
            var path = Path.Combine(local, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
        }
        return local;
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_directory_put_is_listed_and_read_back_whole_and_the_staged_copy_is_gone(string provider)
    {
        using var dir = new TempDir();
        var store = Create(provider, dir);
        Assert.Equal(provider, store.Provider);
        Assert.Null(await store.GetDirectoryAsync("datasets/d1"));
        Assert.Empty(await store.ListAsync("datasets/d1"));

        var staged = LocalDirectory(dir, ("train.txt", "a b c\n"), ("valid.txt", "b c\n"), ("sub/index.json", "{}"));
        await store.PutDirectoryAsync(staged, "datasets/d1", commitFile: "train.txt");
        Assert.False(Directory.Exists(staged));

        Assert.Equal(["sub/index.json", "train.txt", "valid.txt"], await store.ListAsync("datasets/d1"));
        var local = await store.GetDirectoryAsync("datasets/d1");
        Assert.NotNull(local);
        Assert.Equal("a b c\n", File.ReadAllText(Path.Combine(local, "train.txt")));
        Assert.Equal("{}", File.ReadAllText(Path.Combine(local, "sub", "index.json")));
        // A sibling whose name starts the same is another artifact.
        Assert.Empty(await store.ListAsync("datasets/d"));

        await store.DeleteAsync("datasets/d1");
        Assert.Empty(await store.ListAsync("datasets/d1"));
        Assert.Null(await store.GetDirectoryAsync("datasets/d1"));
        Assert.False(Directory.Exists(local));
        await store.DeleteAsync("datasets/d1");   // deleting nothing is no error
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_model_version_is_stored_its_manifest_read_and_it_loads_from_the_local_directory(string provider)
    {
        using var dir = new TempDir();
        var store = Create(provider, dir);
        var staged = dir.Sub("staged-model");
        var written = SaveTinyModel(staged);

        await store.PutDirectoryAsync(staged, "models/tiny/1", ModelArtifacts.ManifestFile);
        var manifest = await store.ReadModelManifestAsync("models/tiny/1");
        Assert.Equal(written.WeightsSha256, manifest.WeightsSha256);
        Assert.Equal("tiny@0", manifest.Parent);
        var local = await store.GetModelDirectoryAsync("models/tiny/1");
        var (loaded, model, vocabulary) = ModelArtifacts.Load(local);
        using (model) Assert.Equal(written.VocabularySize, vocabulary.Count);
        Assert.Equal(written.Files, loaded.Files);

        await Assert.ThrowsAsync<ModelFormatException>(() => store.ReadModelManifestAsync("models/tiny/2"));
        await store.DeleteAsync("models/tiny/1");
        await Assert.ThrowsAsync<ModelFormatException>(() => store.ReadModelManifestAsync("models/tiny/1"));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_format_3_model_travels_with_its_bpe_merges_and_adaptive_softmax(string provider)
    {
        using var dir = new TempDir();
        var store = Create(provider, dir);
        var staged = dir.Sub("staged-model");
        var merges = new BpeMerges([("a", "b"), ("ab", "c")]);
        var vocabulary = Vocabulary.BuildComplete(["ab", "c", "abc"], merges.Tokens());
        var architecture = new ModelOptions
        {
            CellType = CellType.Gru, EmbeddingSize = 8, HiddenSize = 8, Layers = 1, Dropout = 0, TieWeights = false,
            AdaptiveSoftmaxCutoffs = new[] { 8, 40 }, AdaptiveSoftmaxDivValue = 2,
        };
        ModelManifest written;
        using (var model = new RnnLanguageModel(vocabulary.Count, architecture))
            written = ModelArtifacts.Save(staged, new ModelManifest
            {
                Name = "sub", Version = 1, Architecture = architecture, Tokenizer = new TokenizerOptions { Kind = TokenizerKind.Bpe, VocabularySize = vocabulary.Count },
                Training = new TrainingOptions(), Metrics = new TrainingMetrics(),
            }, model, vocabulary, merges);
        Assert.Equal(3, written.FormatVersion);

        await store.PutDirectoryAsync(staged, "models/sub/1", ModelArtifacts.ManifestFile);
        var local = await store.GetModelDirectoryAsync("models/sub/1");
        var (loaded, served, _) = ModelArtifacts.Load(local);
        using (served) Assert.True(served.Options.IsAdaptive);
        Assert.Equal(written.Files, loaded.Files);
        Assert.Contains(ModelArtifacts.MergesFileName, loaded.Files!.Keys);
        Assert.Equal(merges.Merges, ((BpeTokenizer)ModelArtifacts.ReadTokenizer(local, loaded)).Merges.Merges);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_path_that_could_leave_the_store_is_refused(string provider)
    {
        using var dir = new TempDir();
        var store = Create(provider, dir);
        await Assert.ThrowsAsync<ArgumentException>(() => store.GetDirectoryAsync("../outside"));
        await Assert.ThrowsAsync<ArgumentException>(() => store.ListAsync("/etc"));
        await Assert.ThrowsAsync<ArgumentException>(() => store.DeleteAsync("models/./x"));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task A_small_text_is_replaced_in_place_and_always_read_fresh(string provider)
    {
        using var dir = new TempDir();
        var store = Create(provider, dir);
        Assert.Null(await store.ReadTextAsync("prepared/ds1/word.json"));
        await store.WriteTextAsync("prepared/ds1/word.json", "{\"status\":\"preparing\"}");
        Assert.Equal("{\"status\":\"preparing\"}", await store.ReadTextAsync("prepared/ds1/word.json"));
        await store.WriteTextAsync("prepared/ds1/word.json", "{\"status\":\"ready\"}");     // a state that changes: never a stale copy
        Assert.Equal("{\"status\":\"ready\"}", await store.ReadTextAsync("prepared/ds1/word.json"));
        Assert.Equal(["word.json"], await store.ListAsync("prepared/ds1"));
        await Assert.ThrowsAsync<ArgumentException>(() => store.WriteTextAsync("../outside.json", "x"));
        await store.DeleteAsync("prepared/ds1");
        Assert.Null(await store.ReadTextAsync("prepared/ds1/word.json"));
    }

    [Fact]
    public async Task The_s3_cache_is_checked_by_hash_and_a_damaged_copy_is_fetched_again()
    {
        using var dir = new TempDir();
        var store = (S3ArtifactStore)Create("s3", dir);
        var staged = dir.Sub("staged-model");
        var written = SaveTinyModel(staged);
        await store.PutDirectoryAsync(staged, "models/tiny/1", ModelArtifacts.ManifestFile);

        var local = await store.GetModelDirectoryAsync("models/tiny/1");
        Assert.StartsWith(store.CacheRoot, local);
        var weights = Path.Combine(local, written.WeightsFile);
        var good = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, good[..(good.Length / 2)]);   // truncated in the cache

        Assert.Equal(local, await store.GetModelDirectoryAsync("models/tiny/1"));
        Assert.Equal(good, File.ReadAllBytes(weights));
    }

    private static ModelManifest SaveTinyModel(string directory)
    {
        var vocabulary = Vocabulary.Build(["a", "b", "c", "a", "b", "a"], maxSize: 10, minCount: 1);
        var architecture = new ModelOptions { CellType = CellType.Gru, EmbeddingSize = 8, HiddenSize = 8, Layers = 1, Dropout = 0 };
        using var model = new RnnLanguageModel(vocabulary.Count, architecture);
        return ModelArtifacts.Save(directory, new ModelManifest
        {
            Name = "tiny", Version = 1, Architecture = architecture, Tokenizer = new TokenizerOptions(), Training = new TrainingOptions(),
            Metrics = new TrainingMetrics(), Parent = "tiny@0",
        }, model, vocabulary);
    }
}
