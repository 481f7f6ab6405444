namespace RnnLmService.Core.Tests.Text;

/// <summary>Assertions shared by the tokenizer tests.</summary>
internal static class TokenAssert
{
    /// <summary>Every surrogate in every token is half of a well-formed pair.</summary>
    public static void NoLoneSurrogates(IEnumerable<string> tokens)
    {
        foreach (var token in tokens)
        {
            for (int i = 0; i < token.Length; i++)
            {
                if (char.IsHighSurrogate(token[i]) && i + 1 < token.Length && char.IsLowSurrogate(token[i + 1])) { i++; continue; }
                Assert.False(char.IsSurrogate(token[i]), $"lone surrogate U+{(int)token[i]:X4} in token \"{token}\"");
            }
        }
    }
}
