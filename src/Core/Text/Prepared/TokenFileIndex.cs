namespace RnnLmService.Core.Text.Prepared;

/// <summary>
/// <c>index.json</c> of a dataset's token files: what they were made with and how many ids each split holds. Its
/// presence in <c>tokens/{key}/</c> is what makes the preparation ready (the directory is renamed into place whole).
/// </summary>
public sealed record TokenFileIndex
{
    /// <summary>The tokenizer settings that decided the ids.</summary>
    public required TokenFileKey Key { get; init; }

    /// <summary>Ids in <c>train.ids</c>.</summary>
    public long TrainTokens { get; init; }

    /// <summary>Ids in <c>valid.ids</c>.</summary>
    public long ValidTokens { get; init; }

    /// <summary>Ids in <c>test.ids</c>.</summary>
    public long TestTokens { get; init; }

    /// <summary>Distinct tokens of the training split (the specials not counted); BPE: distinct pre-tokens, which the merges are learnt from.</summary>
    public long DistinctTokens { get; init; }

    /// <summary>Tokens with their own id (the ranked vocabulary, specials included): the largest vocabulary a job can ask for (BPE: the vocabulary).</summary>
    public int RankedTokens { get; init; }

    /// <summary>
    /// Characters of the test split's normalised text (<see cref="TextMeasures"/>: what bits per character divide by);
    /// per token in <c>test.measures</c>.
    /// </summary>
    public long TestCharacters { get; init; }

    /// <summary>Words of the test split's normalised text (what perplexity per word divides by); per token in <c>test.measures</c>.</summary>
    public long TestWords { get; init; }

    /// <summary>Bytes of text read (the three splits).</summary>
    public long Bytes { get; init; }

    /// <summary>Runs the counting pass wrote to disk (0 when the distinct tokens fit its budget).</summary>
    public int CountingRuns { get; init; }

    /// <summary>Seconds of the counting pass (this attempt's, when resumed after it).</summary>
    public double CountingSeconds { get; init; }

    /// <summary>Seconds of the encoding pass.</summary>
    public double EncodingSeconds { get; init; }

    /// <summary>When the files were completed (UTC).</summary>
    public DateTime PreparedAt { get; init; }
}

/// <summary>The state of one preparation of a dataset (one <see cref="TokenFileKey"/>), as the datasets API shows it.</summary>
public sealed record PreparationStatus
{
    /// <summary>Being prepared now by a training process.</summary>
    public const string Preparing = "preparing";
    /// <summary>The token files are complete.</summary>
    public const string Ready = "ready";
    /// <summary>The last attempt failed: <see cref="Reason"/>.</summary>
    public const string Failed = "failed";
    /// <summary>Stopped part-way (the job was cancelled or its process killed); the next job that needs it continues it.</summary>
    public const string Interrupted = "interrupted";

    /// <summary>The tokenizer settings.</summary>
    public required TokenFileKey Key { get; init; }

    /// <summary><see cref="Preparing"/>, <see cref="Ready"/>, <see cref="Failed"/> or <see cref="Interrupted"/>.</summary>
    public required string Status { get; init; }

    /// <summary>What a preparing attempt is doing: <c>counting</c>, <c>encoding train</c>, <c>encoding valid</c>, <c>encoding test</c>.</summary>
    public string? Phase { get; init; }

    /// <summary>Why it failed, in words for a person (no server paths).</summary>
    public string? Reason { get; init; }

    /// <summary>When the current or last attempt started (UTC).</summary>
    public DateTime? StartedAt { get; init; }

    /// <summary>The index, once ready.</summary>
    public TokenFileIndex? Index { get; init; }
}
