namespace RnnLmService.Api.Contracts;

/// <summary>A small corpus sent as JSON: one <c>text</c> (split 80/10/10 by line at upload) or the three splits.</summary>
public sealed record DatasetTextRequest
{
    /// <summary>A name for the dataset (optional, at most 200 characters).</summary>
    /// <example>nursery rhymes</example>
    public string? Name { get; init; }

    /// <summary>The whole corpus, split at upload: the last 10 % of lines (at least one) test, the 10 % before valid, the rest train.</summary>
    /// <example>the cat sat on the mat
    /// the dog sat on the log
    /// the cat ate the rat</example>
    public string? Text { get; init; }

    /// <summary>The training split, when sending the three splits instead of <c>text</c>.</summary>
    /// <example>the cat sat on the mat</example>
    public string? Train { get; init; }

    /// <summary>The validation split.</summary>
    /// <example>the dog sat on the log</example>
    public string? Valid { get; init; }

    /// <summary>The test split.</summary>
    /// <example>the cat ate the rat</example>
    public string? Test { get; init; }
}

/// <summary>Counts of one split of a dataset.</summary>
public sealed record SplitStats
{
    /// <summary>Lines (a last line without a newline counts).</summary>
    /// <example>8000</example>
    public long Lines { get; init; }

    /// <summary>Words: runs of non-whitespace characters.</summary>
    /// <example>120000</example>
    public long Words { get; init; }

    /// <summary>Size in bytes (UTF-8).</summary>
    /// <example>650000</example>
    public long Bytes { get; init; }
}

/// <summary>An uploaded corpus with its counts and hash; its files are <c>datasets/{id}/train.txt valid.txt test.txt</c>.</summary>
public sealed record DatasetResponse
{
    /// <summary>The dataset's id.</summary>
    /// <example>01a21fb3047a7dc3a7714047bafa6061</example>
    public required string Id { get; init; }

    /// <summary>Its name (given, or the first file's name).</summary>
    /// <example>kjv</example>
    public required string Name { get; init; }

    /// <summary>When it was uploaded (UTC).</summary>
    /// <example>2026-11-28T00:40:00Z</example>
    public DateTime CreatedAt { get; init; }

    /// <summary><c>given</c> (uploaded as train/valid/test) or <c>derived</c> (one file split 80/10/10 by line at upload).</summary>
    /// <example>derived</example>
    public required string SplitKind { get; init; }

    /// <summary>Lines of all splits.</summary>
    /// <example>10000</example>
    public long Lines { get; init; }

    /// <summary>Words of all splits (runs of non-whitespace).</summary>
    /// <example>150000</example>
    public long Words { get; init; }

    /// <summary>Characters (Unicode scalar values) of all splits.</summary>
    /// <example>800000</example>
    public long Characters { get; init; }

    /// <summary>Bytes (UTF-8) of all splits.</summary>
    /// <example>810000</example>
    public long Bytes { get; init; }

    /// <summary>SHA-256 (hex) of train, valid and test concatenated; for one uploaded file, that file's hash.</summary>
    /// <example>9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08</example>
    public required string Sha256 { get; init; }

    /// <summary>Counts per split.</summary>
    public required DatasetSplits Splits { get; init; }

    /// <summary>Its token files, one entry per tokenizer setting a training job asked for (empty before the first job).</summary>
    public IReadOnlyList<DatasetPreparation> Preparations { get; init; } = [];
}

/// <summary>The counts of a dataset's three splits.</summary>
public sealed record DatasetSplits
{
    /// <summary>The training split (the vocabulary is built from it).</summary>
    public required SplitStats Train { get; init; }

    /// <summary>The validation split (model selection, learning-rate annealing).</summary>
    public required SplitStats Valid { get; init; }

    /// <summary>The test split (the final perplexity).</summary>
    public required SplitStats Test { get; init; }
}

/// <summary>A page of datasets, newest first.</summary>
public sealed record DatasetList
{
    /// <summary>The datasets of this page.</summary>
    public required IReadOnlyList<DatasetResponse> Items { get; init; }

    /// <summary>All datasets.</summary>
    /// <example>3</example>
    public int Total { get; init; }

    /// <summary>Datasets skipped before this page.</summary>
    /// <example>0</example>
    public int Offset { get; init; }

    /// <summary>Most datasets on a page.</summary>
    /// <example>50</example>
    public int Limit { get; init; }
}

/// <summary>
/// The token files of a dataset for one set of tokenizer settings: prepared by the first training job that needs them
/// (count the training split, then encode each split into ids) and shared by every later job with the same settings.
/// </summary>
public sealed record DatasetPreparation
{
    /// <summary>The tokenizer kind (<c>word</c>, <c>character</c> or <c>bpe</c>).</summary>
    /// <example>word</example>
    public required string Kind { get; init; }

    /// <summary>Word level: tokens lower-cased.</summary>
    /// <example>true</example>
    public bool Lowercase { get; init; }

    /// <summary>Word level: punctuation and symbols split off.</summary>
    /// <example>true</example>
    public bool SplitPunctuation { get; init; }

    /// <summary>BPE: the vocabulary size the merges were learnt for (each size has its own token files); null otherwise.</summary>
    /// <example>8000</example>
    public int? VocabularySize { get; init; }

    /// <summary>
    /// <c>preparing</c> (a training process is on it), <c>ready</c>, <c>failed</c> (see <see cref="Reason"/>; the next job
    /// that needs it tries again) or <c>interrupted</c> (stopped part-way; the next job that needs it continues it).
    /// </summary>
    /// <example>ready</example>
    public required string Status { get; init; }

    /// <summary>While preparing: <c>counting</c>, <c>encoding train</c>, <c>encoding valid</c> or <c>encoding test</c>.</summary>
    /// <example>counting</example>
    public string? Phase { get; init; }

    /// <summary>Why the preparation failed.</summary>
    /// <example>The train text is not valid UTF-8.</example>
    public string? Reason { get; init; }

    /// <summary>When the current or last attempt started (UTC), while not ready.</summary>
    /// <example>2026-12-03T14:00:00Z</example>
    public DateTime? StartedAt { get; init; }

    /// <summary>When it became ready (UTC).</summary>
    /// <example>2026-12-03T14:05:00Z</example>
    public DateTime? PreparedAt { get; init; }

    /// <summary>Token ids per split, once ready.</summary>
    public PreparedTokens? Tokens { get; init; }

    /// <summary>Distinct tokens of the training split, once ready: the largest useful <c>maxVocabularySize</c> is this + 2.</summary>
    /// <example>13000</example>
    public long? DistinctTokens { get; init; }

    /// <summary>Seconds the counting and encoding passes took, once ready.</summary>
    /// <example>42.5</example>
    public double? Seconds { get; init; }
}

/// <summary>Token ids per split of a prepared dataset.</summary>
public sealed record PreparedTokens
{
    /// <summary>Training ids.</summary>
    /// <example>900000</example>
    public long Train { get; init; }

    /// <summary>Validation ids.</summary>
    /// <example>100000</example>
    public long Valid { get; init; }

    /// <summary>Test ids.</summary>
    /// <example>100000</example>
    public long Test { get; init; }

    /// <summary>Characters of the test text as the tokenizer normalises it (what bits per character divide by).</summary>
    /// <example>450000</example>
    public long TestCharacters { get; init; }

    /// <summary>Words of the test text as the tokenizer normalises it (what perplexity per word divides by).</summary>
    /// <example>90000</example>
    public long TestWords { get; init; }
}
