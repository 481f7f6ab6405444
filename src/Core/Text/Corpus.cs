namespace RnnLmService.Core.Text;

/// <summary>
/// A dataset ready for training: its tokenizer, the vocabulary of its training split, and each split as
/// a flat stream of token ids (lines ending in <c>&lt;eos&gt;</c>), as in the classic word-LM <c>data.py</c>.
/// </summary>
public sealed class Corpus
{
    private Corpus(ITokenizer tokenizer, Vocabulary vocabulary, long[] train, long[] valid, long[] test, TextMeasures testMeasures)
    {
        TestMeasures = testMeasures;
        Tokenizer = tokenizer;
        Vocabulary = vocabulary;
        Train = train;
        Valid = valid;
        Test = test;
    }

    /// <summary>The tokenizer the splits were encoded with.</summary>
    public ITokenizer Tokenizer { get; }

    /// <summary>The vocabulary, built from the training split.</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>Training token ids.</summary>
    public long[] Train { get; }

    /// <summary>Validation token ids (words absent from train are <see cref="Vocabulary.UnkId"/>).</summary>
    public long[] Valid { get; }

    /// <summary>Test token ids.</summary>
    public long[] Test { get; }

    /// <summary>Characters and words each test token adds to the normalised test text (for bits per character and per-word perplexity).</summary>
    public TextMeasures TestMeasures { get; }

    /// <summary>
    /// Validates <paramref name="options"/>, tokenizes the splits and builds the vocabulary from the
    /// training split only (for BPE, first learns the merges from it). Throws <see cref="CorpusException"/> naming <c>train</c>, <c>valid</c> or
    /// <c>test</c> when a split is empty or whitespace-only.
    /// </summary>
    public static Corpus Build(CorpusSplits splits, TokenizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(splits);
        var tokenizer = Tokenizers.ForTraining(options, splits.Train);
        var (train, valid, test) = TokenizeAll(splits, tokenizer);
        var vocabulary = tokenizer is BpeTokenizer bpe
            ? Vocabulary.BuildComplete(train, bpe.Merges.Tokens())
            : Vocabulary.Build(train, options.MaxVocabularySize, options.MinCount);
        return new Corpus(tokenizer, vocabulary, vocabulary.Encode(train), vocabulary.Encode(valid), vocabulary.Encode(test), TextMeasures.Of(tokenizer, test));
    }

    /// <summary>Encodes the splits with an existing tokenizer and vocabulary (resuming a job, evaluating a saved model).</summary>
    public static Corpus Encode(CorpusSplits splits, ITokenizer tokenizer, Vocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(splits);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(vocabulary);
        var (train, valid, test) = TokenizeAll(splits, tokenizer);
        return new Corpus(tokenizer, vocabulary, vocabulary.Encode(train), vocabulary.Encode(valid), vocabulary.Encode(test), TextMeasures.Of(tokenizer, test));
    }

    private static (IReadOnlyList<string> Train, IReadOnlyList<string> Valid, IReadOnlyList<string> Test) TokenizeAll(
        CorpusSplits splits, ITokenizer tokenizer) =>
        (TokenizeSplit(splits.Train, "train", tokenizer),
         TokenizeSplit(splits.Valid, "valid", tokenizer),
         TokenizeSplit(splits.Test, "test", tokenizer));

    private static IReadOnlyList<string> TokenizeSplit(string? text, string field, ITokenizer tokenizer)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new CorpusException(field, $"The {field} split is empty or whitespace only.");
        return tokenizer.Tokenize(text);
    }
}
