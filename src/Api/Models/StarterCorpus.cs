using System.Text;

namespace RnnLmService.Api.Models;

/// <summary>
/// A deterministic, English-like corpus from a small grammar (subjects, verbs, objects, places, times and a
/// few sentence shapes), written by this project so a fresh install can train a real model with no download.
/// The same seed always gives the same text.
/// </summary>
public static class StarterCorpus
{
    private static readonly string[] Determiners = ["the", "a", "this", "that", "every", "one"];
    private static readonly string[] Adjectives = ["small", "old", "quiet", "bright", "happy", "tired", "clever", "brown", "young", "kind"];
    private static readonly string[] Animals = ["cat", "dog", "fox", "bird", "horse", "rabbit", "mouse", "owl"];
    private static readonly string[] People = ["girl", "boy", "farmer", "teacher", "child", "king", "sailor", "baker"];
    private static readonly string[] Things = ["ball", "apple", "letter", "book", "boat", "song", "cake", "key", "map", "lamp"];
    private static readonly string[] Places = ["garden", "forest", "river", "house", "market", "village", "field", "kitchen"];
    private static readonly string[] Times = ["in the morning", "at night", "every day", "after dinner", "before the rain", "in the spring"];
    private static readonly string[] TransitiveVerbs = ["found", "saw", "liked", "carried", "wanted", "made", "lost", "gave away"];
    private static readonly string[] IntransitiveVerbs = ["slept", "ran", "sang", "waited", "laughed", "walked", "danced", "rested"];
    private static readonly string[] Openers = ["once upon a time", "one day", "long ago", "later", "then", "suddenly"];
    private static readonly string[] Feelings = ["glad", "sad", "surprised", "sleepy", "hungry", "proud"];

    /// <summary>Generates <paramref name="lines"/> sentences, one per line.</summary>
    public static string Generate(int lines = 3000, int seed = 20261128)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        for (var i = 0; i < lines; i++)
            text.Append(Sentence(random)).Append('\n');
        return text.ToString();
    }

    private static string Sentence(Random r)
    {
        string Pick(string[] words) => words[r.Next(words.Length)];
        string Noun() => r.Next(2) == 0 ? Pick(Animals) : Pick(People);
        string Subject() => r.Next(3) == 0 ? $"{Pick(Determiners)} {Pick(Adjectives)} {Noun()}" : $"{Pick(Determiners)} {Noun()}";
        string Object() => r.Next(3) == 0 ? $"{Pick(Determiners)} {Pick(Adjectives)} {Pick(Things)}" : $"{Pick(Determiners)} {Pick(Things)}";
        string Place() => $"in the {Pick(Places)}";

        return r.Next(7) switch
        {
            0 => $"{Pick(Openers)} , {Subject()} {Pick(TransitiveVerbs)} {Object()} {Place()} .",
            1 => $"{Subject()} {Pick(IntransitiveVerbs)} {Place()} {Pick(Times)} .",
            2 => $"{Subject()} {Pick(TransitiveVerbs)} {Object()} and {Pick(IntransitiveVerbs)} .",
            3 => $"{Subject()} was {Pick(Feelings)} because {Subject()} {Pick(TransitiveVerbs)} {Object()} .",
            4 => $"{Pick(Times)} , {Subject()} {Pick(IntransitiveVerbs)} .",
            5 => $"{Subject()} said that {Subject()} {Pick(IntransitiveVerbs)} {Place()} .",
            _ => $"{Subject()} {Pick(TransitiveVerbs)} {Object()} .",
        };
    }
}
