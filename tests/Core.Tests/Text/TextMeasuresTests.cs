using RnnLmService.Core.Text;

namespace RnnLmService.Core.Tests.Text;

public sealed class TextMeasuresTests
{
    [Fact]
    public void Word_tokens_count_the_space_before_them_and_eos_its_newline()
    {
        var words = Tokenizers.Create(new TokenizerOptions());
        var tokens = words.Tokenize("The end.\nnew words\n");              // the end . <eos> new words <eos>
        var m = TextMeasures.Of(words, tokens);
        Assert.Equal([3, 4, 2, 1, 3, 6, 1], m.Characters);                  // "the", " end", " .", "\n", "new", " words", "\n"
        Assert.Equal([1, 1, 1, 0, 1, 1, 0], m.Words);
        Assert.Equal(words.Detokenize(tokens).Length, m.Characters.Sum());
    }

    [Fact]
    public void Bpe_tokens_count_characters_where_their_first_byte_is()
    {
        var bpe = BpeTokenizer.Learn(new TokenizerOptions { Kind = TokenizerKind.Bpe, VocabularySize = 258 }, "x\n"); // bytes only
        var tokens = bpe.Tokenize("hé 世\n");                                // h, é (2 bytes), space, 世 (3 bytes), <eos>
        var m = TextMeasures.Of(bpe, tokens);
        Assert.Equal(8, tokens.Count);
        Assert.Equal([1, 1, 0, 1, 1, 0, 0, 1], m.Characters);                // h é · Ġ 世 · · \n: a character counts at its lead byte
        Assert.Equal(5, m.Characters.Sum());                                 // "hé 世\n" has 5 characters
        Assert.Equal(2, m.Words.Sum());
    }

    [Fact]
    public void Scored_skips_each_streams_first_token_and_the_remainder()
    {
        var chars = Tokenizers.Create(new TokenizerOptions { Kind = TokenizerKind.Character });
        var m = TextMeasures.Of(chars, chars.Tokenize("ab cd e"));           // a b ' ' c d ' ' e <eos>: 8 tokens
        Assert.Equal((7L, 2L), m.Scored(1));                                 // all but 'a'; words start at c and e (a is not scored)
        Assert.Equal((3L, 1L), m.Scored(3));                                 // streams "ab", " c", "d " (e, <eos> dropped): b, c, ' ' scored
    }
}
