using System.Diagnostics;
using System.Text.Json;
using RnnLmService.Core.Text;
using RnnLmService.Core.Text.Prepared;

namespace RnnLmService.Bench;

/// <summary>
/// <c>prepare &lt;dir&gt; [work=DIR budget=1000000 lowercase=false split=false]</c>: the dataset preparation of a training
/// job (count the train split, encode the three) on a directory's train/valid/test.txt, in this process, timed; the
/// token files go to <c>work</c> (the split files are linked there). Prints MB/s and the process's peak RSS.
/// </summary>
internal static class PrepareBench
{
    public static int Run(string dir, Args a)
    {
        var work = a.Get("work", Path.Combine(Path.GetTempPath(), $"rnnlm-prepare-{Guid.NewGuid():N}"));
        var budget = a.Int("budget", 1_000_000);
        var options = new TokenizerOptions { Lowercase = a.Bool("lowercase", false), SplitPunctuation = a.Bool("split", false) };
        a.RejectUnknown();
        Directory.CreateDirectory(work);
        foreach (var split in new[] { "train", "valid", "test" })
        {
            var link = Path.Combine(work, split + ".txt");
            if (!File.Exists(link)) File.CreateSymbolicLink(link, Path.GetFullPath(Path.Combine(dir, split + ".txt")));
        }
        var clock = Stopwatch.StartNew();
        var ready = new TokenFilePreparer(new PreparationSettings { CountingBudget = budget }).Prepare(work, options);
        var seconds = clock.Elapsed.TotalSeconds;
        var index = TokenFiles.ReadIndex(ready)!;
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            command = "prepare", bytes = index.Bytes, seconds = Math.Round(seconds, 2),
            mbPerSecond = Math.Round(index.Bytes / 1e6 / seconds, 2),
            countingSeconds = Math.Round(index.CountingSeconds, 2), encodingSeconds = Math.Round(index.EncodingSeconds, 2),
            index.TrainTokens, index.DistinctTokens, index.CountingRuns, peakRssBytes = PeakRss(),
        }));
        return 0;
    }

    private static long PeakRss()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 0;
    }
}
