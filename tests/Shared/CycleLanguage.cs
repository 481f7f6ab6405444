using System.Text;

namespace RnnLmService.Tests.Shared;

/// <summary>
/// The toy language every test project trains on: 24 words in a fixed order (w00 → w01 → … → w23); each line
/// starts at a pseudo-random word and runs to w23, where the line ends. After a line's first word every next
/// token is determined. Linked into each test project, so all of them train on the same language.
/// </summary>
internal static class CycleLanguage
{
    /// <summary><paramref name="lines"/> lines of the language, the same for the same <paramref name="seed"/>.</summary>
    public static string Text(int lines, int seed)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder();
        for (var l = 0; l < lines; l++)
        {
            var start = rng.Next(22);
            sb.AppendJoin(' ', Enumerable.Range(start, 24 - start).Select(i => $"w{i:00}")).Append('\n');
        }
        return sb.ToString();
    }
}
