namespace RnnLmService.Core.Text;

/// <summary>
/// What training reads: the tokenizer, the vocabulary, and each split as <see cref="ITokenIds"/> — in memory for a
/// corpus given as text (<see cref="FromCorpus"/>), or memory-mapped token files of a prepared dataset
/// (<see cref="Prepared.TokenFiles.Open"/>). Disposing it unmaps the files.
/// </summary>
public sealed class PreparedCorpus(ITokenizer tokenizer, Vocabulary vocabulary, ITokenIds train, ITokenIds valid, ITokenIds test, ITextMeasures testMeasures) : IDisposable
{
    /// <summary>The tokenizer the ids were made with.</summary>
    public ITokenizer Tokenizer { get; } = tokenizer;

    /// <summary>The vocabulary; every id read is below its size.</summary>
    public Vocabulary Vocabulary { get; } = vocabulary;

    /// <summary>Training ids.</summary>
    public ITokenIds Train { get; } = train;

    /// <summary>Validation ids.</summary>
    public ITokenIds Valid { get; } = valid;

    /// <summary>Test ids.</summary>
    public ITokenIds Test { get; } = test;

    /// <summary>Characters and words each test token adds to the normalised test text (bits per character, perplexity per word).</summary>
    public ITextMeasures TestMeasures { get; } = testMeasures;

    /// <summary>An in-memory corpus as token ids.</summary>
    public static PreparedCorpus FromCorpus(Corpus corpus)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        return new PreparedCorpus(corpus.Tokenizer, corpus.Vocabulary, new ArrayTokenIds(corpus.Train), new ArrayTokenIds(corpus.Valid), new ArrayTokenIds(corpus.Test), corpus.TestMeasures);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Train.Dispose();
        Valid.Dispose();
        Test.Dispose();
        (TestMeasures as IDisposable)?.Dispose();
    }
}
