using System.Security.Cryptography;
using System.Text;
using RnnLmService.Core;
using RnnLmService.Core.Storage;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Datasets;
using RnnLmService.Core.Storage.Jobs;
using Xunit.Abstractions;

namespace RnnLmService.Worker.Tests.Store;

public abstract class DatasetStoreTests(string provider, ITestOutputHelper output) : IAsyncLifetime
{
    private TestStore? _store;
    private TestStore Store => _store!;
    private bool Unavailable => _store is null;

    public async Task InitializeAsync() => _store = await TestStore.CreateAsync(provider, output);

    public async Task DisposeAsync()
    {
        if (_store is not null) await _store.DisposeAsync();
    }

    /// <summary>40 lines with multi-byte characters (2-, 3- and 4-byte UTF-8), blank lines and tabs, no final newline.</summary>
    private static string Corpus()
    {
        var sb = new StringBuilder();
        for (var i = 0; i < 40; i++)
        {
            sb.Append(i % 7 == 3 ? "" : $"line {i} héllo wörld — naïve 🙂\tend {i * 3}");
            if (i < 39) sb.Append('\n');
        }
        return sb.ToString();
    }

    private static (long Lines, long Words, long Chars, long Bytes, string Sha) Expected(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var lines = text.Count(c => c == '\n') + (text.Length > 0 && !text.EndsWith('\n') ? 1 : 0);
        var words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        return (lines, words, text.EnumerateRunes().Count(), bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    [Fact]
    public async Task A_single_file_streams_in_with_its_counts_and_hash_and_is_split_80_10_10_by_line()
    {
        if (Unavailable) return;
        var text = Corpus();
        var datasets = Store.Datasets();
        await using var upload = datasets.BeginUpload("tiny");
        // Seven bytes a read: multi-byte characters straddle the reads.
        await upload.AddFileAsync("file", new ChunkedStream(Encoding.UTF8.GetBytes(text), 7));
        var d = await upload.CommitAsync();

        var expected = Expected(text);
        Assert.Equal((expected.Lines, expected.Words, expected.Chars, expected.Bytes, expected.Sha), (d.Lines, d.Words, d.Characters, d.Bytes, d.Sha256));
        Assert.Equal("derived", d.SplitKind);
        Assert.Equal((32L, 4L, 4L), (d.TrainLines, d.ValidLines, d.TestLines));

        var local = (await datasets.LocalDirectoryAsync(d))!;
        var parts = DatasetStore.Splits.Select(s => File.ReadAllText(DatasetStore.SplitPath(local, s))).ToArray();
        Assert.Equal(text, string.Concat(parts)); // contiguous, byte for byte
        Assert.Equal(Expected(parts[0]).Words, d.TrainWords);
        Assert.Equal(Expected(parts[2]).Bytes, d.TestBytes);
        Assert.Equal(d, await datasets.GetAsync(d.Id), new DatasetComparer());
        Assert.False(File.Exists(Path.Combine(Store.DataDirectory, d.Directory, "all.txt")));
        Assert.Empty(Directory.GetDirectories(datasets.Root, ".upload-*"));
    }

    [Fact]
    public async Task Three_files_are_kept_as_given_and_hashed_in_train_valid_test_order()
    {
        if (Unavailable) return;
        var datasets = Store.Datasets();
        var d = await datasets.CreateFromTextAsync("given", null, train: "the cat sat\non the mat\n", valid: "a dog ran\n", test: "the end");
        var expected = Expected("the cat sat\non the mat\n" + "a dog ran\n" + "the end");
        Assert.Equal("given", d.SplitKind);
        Assert.Equal((expected.Lines, expected.Words, expected.Bytes, expected.Sha), (d.Lines, d.Words, d.Bytes, d.Sha256));
        Assert.Equal((2L, 1L, 1L), (d.TrainLines, d.ValidLines, d.TestLines));
        Assert.Equal("a dog ran\n", await File.ReadAllTextAsync(DatasetStore.SplitPath((await datasets.LocalDirectoryAsync(d))!, "valid")));
    }

    [Theory]
    [InlineData(new byte[] { 0x61, 0x62, 0xff, 0x0a, 0x63 })]       // a byte no UTF-8 sequence starts with
    [InlineData(new byte[] { 0x61, 0x0a, 0x62, 0x0a, 0xe2, 0x82 })] // truncated at the end
    [InlineData(new byte[] { 0x61, 0xc0, 0xaf, 0x0a })]             // overlong encoding
    public async Task Non_utf8_is_rejected_naming_the_field(byte[] bytes)
    {
        if (Unavailable) return;
        var datasets = Store.Datasets();
        await using var upload = datasets.BeginUpload("bad");
        var e = await Assert.ThrowsAsync<CorpusException>(() => upload.AddFileAsync("train", new ChunkedStream(bytes, 3)));
        Assert.Equal("train", e.Field);
        Assert.Contains("UTF-8", e.Reason);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  \n\t\n   \r\n")]
    public async Task Empty_or_whitespace_only_is_rejected(string text)
    {
        if (Unavailable) return;
        var e = await Assert.ThrowsAsync<CorpusException>(() => Store.Datasets().CreateFromTextAsync("empty", text));
        Assert.Equal("file", e.Field);
        Assert.Empty((await Store.Datasets().ListAsync()).Items);
    }

    [Fact]
    public async Task Too_few_lines_to_split_or_a_missing_split_is_rejected()
    {
        if (Unavailable) return;
        var e = await Assert.ThrowsAsync<CorpusException>(() => Store.Datasets().CreateFromTextAsync("two", "one line\nanother"));
        Assert.Equal("file", e.Field);
        var missing = await Assert.ThrowsAsync<CorpusException>(() => Store.Datasets().CreateFromTextAsync("two", null, train: "a b", valid: "c"));
        Assert.Equal("test", missing.Field);
    }

    [Fact]
    public async Task An_upload_over_the_limit_is_refused_and_leaves_nothing_behind()
    {
        if (Unavailable) return;
        var datasets = Store.Datasets(maxUpload: 1024);
        await using (var upload = datasets.BeginUpload("big"))
        {
            var e = await Assert.ThrowsAsync<PayloadTooLargeException>(() =>
                upload.AddFileAsync("file", new ChunkedStream(Encoding.UTF8.GetBytes(new string('x', 700) + "\n" + new string('y', 700)), 100)));
            Assert.Equal(1024, e.LimitBytes);
        }
        Assert.Empty(Directory.GetDirectories(datasets.Root));
        Assert.Empty((await datasets.ListAsync()).Items);
    }

    [Fact]
    public async Task Delete_is_refused_while_a_queued_or_running_job_uses_the_dataset()
    {
        if (Unavailable) return;
        var datasets = Store.Datasets();
        var jobs = Store.Jobs();
        var d = await datasets.CreateFromTextAsync("used", Corpus());
        var job = await jobs.EnqueueAsync(new NewTrainingJob("m", d.Id, "{}"));

        await Assert.ThrowsAsync<ConflictException>(() => datasets.DeleteAsync(d.Id));
        var claim = (await jobs.ClaimAsync("w1", TimeSpan.FromMinutes(1)))!.ClaimToken!;
        await Assert.ThrowsAsync<ConflictException>(() => datasets.DeleteAsync(d.Id));
        Assert.True(await jobs.CompleteFailedAsync(job.Id, claim, "test"));

        await datasets.DeleteAsync(d.Id);
        Assert.Null(await datasets.GetAsync(d.Id));
        Assert.False(Directory.Exists(Path.Combine(Store.DataDirectory, d.Directory)));
        await Assert.ThrowsAsync<NotFoundException>(() => datasets.DeleteAsync(d.Id));
    }

    private sealed class DatasetComparer : IEqualityComparer<DatasetRecord?>
    {
        public bool Equals(DatasetRecord? x, DatasetRecord? y) =>
            x is not null && y is not null && x.Id == y.Id && x.Sha256 == y.Sha256 && x.Words == y.Words
            && x.TrainLines == y.TrainLines && Math.Abs((x.CreatedAt - y.CreatedAt).TotalMilliseconds) < 1;
        public int GetHashCode(DatasetRecord? obj) => obj?.Id.GetHashCode() ?? 0;
    }
}

/// <summary>A stream that hands out at most <c>chunk</c> bytes per read, like a network.</summary>
internal sealed class ChunkedStream(byte[] data, int chunk) : MemoryStream(data)
{
    public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));
    public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, chunk)]);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        base.ReadAsync(buffer, offset, Math.Min(count, chunk), cancellationToken);
}

public sealed class SqliteDatasetStoreTests(ITestOutputHelper output) : DatasetStoreTests(StoreProviders.Sqlite, output);

public sealed class PostgresDatasetStoreTests(ITestOutputHelper output) : DatasetStoreTests(StoreProviders.Postgres, output);
