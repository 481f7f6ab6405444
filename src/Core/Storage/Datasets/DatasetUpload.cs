using System.Buffers;
using System.Security.Cryptography;
using RnnLmService.Core.Storage.Database;

namespace RnnLmService.Core.Storage.Datasets;

/// <summary>
/// One dataset being uploaded: files stream into a temporary directory, counted and checked as they arrive;
/// <see cref="CommitAsync"/> splits a single file, renames the directory into place and records the dataset.
/// </summary>
public sealed class DatasetUpload : IAsyncDisposable
{
    private const int BufferSize = 64 * 1024;
    private readonly DatasetStore _store;
    private readonly string _id;
    private readonly string? _name;
    private readonly string _temp;
    private readonly long _maxBytes;
    private readonly Dictionary<string, TextCounts> _files = new(StringComparer.Ordinal);
    private string? _singleFileSha;
    private long _received;
    private bool _committed;

    internal DatasetUpload(DatasetStore store, string id, string? name, string temp, long maxBytes)
    {
        _store = store;
        _id = id;
        _name = name;
        _temp = temp;
        _maxBytes = maxBytes;
    }

    /// <summary>A name taken from the first file when the client gave none.</summary>
    public string? SuggestedName { get; set; }

    /// <summary>
    /// Streams one file: <c>file</c> (split at upload) or one of <c>train</c>, <c>valid</c>, <c>test</c>.
    /// Not UTF-8, empty or whitespace-only → <see cref="CorpusException"/> naming the field; over the size limit →
    /// <see cref="PayloadTooLargeException"/>.
    /// </summary>
    public async Task AddFileAsync(string field, Stream content, CancellationToken ct = default)
    {
        if (field != DatasetStore.SingleFileField && !DatasetStore.Splits.Contains(field))
            throw new InvalidSettingException(field, $"Unknown upload field '{field}': send one 'file', or 'train', 'valid' and 'test'.");
        if (_files.ContainsKey(field))
            throw new InvalidSettingException(field, $"The field '{field}' was sent twice.");
        if (field == DatasetStore.SingleFileField ? _files.Count > 0 : _files.ContainsKey(DatasetStore.SingleFileField))
            throw new InvalidSettingException(field, "Send either one 'file' or the 'train', 'valid' and 'test' files, not both.");

        var target = Path.Combine(_temp, field == DatasetStore.SingleFileField ? "all.txt" : $"{field}.txt");
        using var stats = new TextStats(field);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            await using var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
            int n;
            while ((n = await content.ReadAsync(buffer.AsMemory(0, BufferSize), ct)) > 0)
            {
                _received += n;
                if (_received > _maxBytes) throw new PayloadTooLargeException(field, _maxBytes);
                stats.Append(buffer.AsSpan(0, n));
                await output.WriteAsync(buffer.AsMemory(0, n), ct);
            }
            await output.FlushAsync(ct);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        var counts = stats.Complete();
        if (counts.Words == 0)
            throw new CorpusException(field, $"'{field}' is empty or holds only whitespace.");
        _files[field] = counts;
        if (field == DatasetStore.SingleFileField) _singleFileSha = stats.Sha256Hex();
    }

    /// <summary>Completes the upload: validates the set of files, splits a single file, moves it into place and records it.</summary>
    public async Task<DatasetRecord> CommitAsync(CancellationToken ct = default)
    {
        if (_files.Count == 0)
            throw new CorpusException(DatasetStore.SingleFileField, "No corpus was sent: send one 'file', or 'train', 'valid' and 'test'.");

        var given = !_files.ContainsKey(DatasetStore.SingleFileField);
        if (given)
        {
            foreach (var split in DatasetStore.Splits)
                if (!_files.ContainsKey(split))
                    throw new CorpusException(split, $"'{split}' is missing: send all of 'train', 'valid' and 'test', or one 'file'.");
        }
        else
        {
            await SplitSingleFileAsync(ct);
        }

        string sha;
        if (_singleFileSha is not null) sha = _singleFileSha; // the splits concatenated are the uploaded file, byte for byte
        else sha = await HashSplitsAsync(ct);

        var total = _files["train"] + _files["valid"] + _files["test"];
        var relative = $"datasets/{_id}";
        Durable.FlushTree(_temp);
        await _store.Artifacts.PutDirectoryAsync(_temp, relative, "train.txt", ct);
        _committed = true;
        var record = new DatasetRecord
        {
            Id = _id,
            Name = _name ?? SuggestedName ?? $"dataset-{_id[..8]}",
            SplitKind = given ? "given" : "derived",
            Directory = relative,
            Lines = total.Lines,
            Words = total.Words,
            Characters = total.Characters,
            Bytes = total.Bytes,
            Sha256 = sha,
            TrainLines = _files["train"].Lines, TrainWords = _files["train"].Words, TrainBytes = _files["train"].Bytes,
            ValidLines = _files["valid"].Lines, ValidWords = _files["valid"].Words, ValidBytes = _files["valid"].Bytes,
            TestLines = _files["test"].Lines, TestWords = _files["test"].Words, TestBytes = _files["test"].Bytes,
        };
        try
        {
            return await _store.InsertAsync(record, ct);
        }
        catch
        {
            await _store.Artifacts.DeleteAsync(relative, CancellationToken.None);
            throw;
        }
    }

    /// <summary>all.txt → train/valid/test by contiguous lines: test the last 10 % (≥ 1), valid the 10 % before, train the rest.</summary>
    private async Task SplitSingleFileAsync(CancellationToken ct)
    {
        var lines = _files[DatasetStore.SingleFileField].Lines;
        if (lines < 3)
            throw new CorpusException(DatasetStore.SingleFileField,
                $"'file' has {lines} line(s); at least 3 are needed to split it into train, valid and test (80/10/10 by line). Send 'train', 'valid' and 'test' instead.");
        var heldOut = Math.Max(1, lines / 10);
        long[] limits = [lines - 2 * heldOut, heldOut, heldOut];

        var source = Path.Combine(_temp, "all.txt");
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            await using var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, useAsync: true);
            var split = 0;
            long linesInSplit = 0;
            var stats = new TextStats(DatasetStore.SingleFileField);
            var output = new FileStream(Path.Combine(_temp, "train.txt"), FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
            try
            {
                int n;
                while ((n = await input.ReadAsync(buffer.AsMemory(0, BufferSize), ct)) > 0)
                {
                    var start = 0;
                    for (var i = 0; i < n; i++)
                    {
                        if (buffer[i] != (byte)'\n' || ++linesInSplit < limits[split] || split == 2) continue;
                        // End of this split's last line: close it and open the next.
                        await WriteAsync(output, stats, buffer, start, i + 1 - start, ct);
                        start = i + 1;
                        await output.DisposeAsync();
                        FinishSplit(split, stats);
                        split++;
                        linesInSplit = 0;
                        stats = new TextStats(DatasetStore.SingleFileField);
                        output = new FileStream(Path.Combine(_temp, $"{DatasetStore.Splits[split]}.txt"), FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
                    }
                    await WriteAsync(output, stats, buffer, start, n - start, ct);
                }
                await output.FlushAsync(ct);
                FinishSplit(split, stats);
            }
            finally
            {
                await output.DisposeAsync();
                stats.Dispose();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        File.Delete(source);
    }

    private void FinishSplit(int split, TextStats stats)
    {
        var name = DatasetStore.Splits[split];
        var counts = stats.Complete();
        if (counts.Words == 0)
            throw new CorpusException(DatasetStore.SingleFileField,
                $"The {name} part of 'file' (contiguous lines, 80/10/10) holds only whitespace; send 'train', 'valid' and 'test' instead.");
        _files[name] = counts;
    }

    private static async Task WriteAsync(FileStream output, TextStats stats, byte[] buffer, int start, int count, CancellationToken ct)
    {
        if (count <= 0) return;
        stats.Append(buffer.AsSpan(start, count));
        await output.WriteAsync(buffer.AsMemory(start, count), ct);
    }

    /// <summary>SHA-256 of train, valid and test concatenated in that order.</summary>
    private async Task<string> HashSplitsAsync(CancellationToken ct)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            foreach (var split in DatasetStore.Splits)
            {
                await using var input = new FileStream(Path.Combine(_temp, $"{split}.txt"), FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, useAsync: true);
                int n;
                while ((n = await input.ReadAsync(buffer.AsMemory(0, BufferSize), ct)) > 0)
                    sha.AppendData(buffer, 0, n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    public ValueTask DisposeAsync()
    {
        if (!_committed && Directory.Exists(_temp))
        {
            try { Directory.Delete(_temp, recursive: true); }
            catch (IOException) { /* best effort: a leftover .upload-* directory is harmless */ }
        }
        return ValueTask.CompletedTask;
    }
}
