using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RnnLmService.Bench;

/// <summary>
/// A load generator that is not part of the service: it speaks HTTP to a running one.
/// <c>load next-word &lt;url&gt;</c>: requests/s and p50/p90/p99 latency of <c>POST /api/models/{model}/next-word</c>
/// with contexts of <c>words</c> words cut from the test split, at each concurrency, each worker sending its
/// next request as soon as the previous one answers (closed loop), timed after a warm-up.
/// <c>load generate &lt;url&gt;</c>: generated tokens/s with <c>streams</c> concurrent generations of
/// <c>tokens</c> new tokens each (ignoreEos, so every one runs to maxTokens).
/// <c>load typing &lt;url&gt;</c>: next-word as someone types: each client starts from a 3-word context of the test
/// split and sends it again with one more word each time, up to 60 words, then starts afresh elsewhere (what the
/// state cache is for). <c>load long &lt;url&gt;</c>: next-word with contexts of about <c>characters</c> characters
/// (different ones per request), for the service's memory under long contexts.
/// With <c>pid=</c> all of them also report the service's resident memory (VmRSS) before and at its peak during the run.
/// </summary>
internal static class LoadClient
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static int Run(string kind, string url, Args a)
    {
        var model = a.Get("model", "bench");
        var pid = a.Int("pid", 0);
        var contexts = Contexts(a.Get("contexts", Path.Combine(AppContext.BaseDirectory, "../../../../out/kjv/test.txt")), a.Int("words", 20));
        var concurrency = a.Get("concurrency", "1,8,64").Split(',').Select(int.Parse).ToArray();
        var streams = a.Get("streams", "1,16").Split(',').Select(int.Parse).ToArray();
        var tokens = a.Get("tokens", "100,400").Split(',').Select(int.Parse).ToArray();
        double seconds = a.Double("seconds", 20), warmup = a.Double("warmup", 3);
        var generateSeconds = seconds / 2;   // generation: runs repeated for at least this long
        var label = a.Get("label", "");
        var characters = a.Int("characters", 20000);
        a.RejectUnknown();

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024 })
        {
            BaseAddress = new Uri(url.TrimEnd('/') + "/"),
            Timeout = TimeSpan.FromMinutes(10),
        };
        var path = $"api/models/{Uri.EscapeDataString(model)}/";
        if (kind == "next-word")
        {
            foreach (var c in concurrency)
            {
                using var rss = new RssSampler(pid);
                var r = ClosedLoop(http, path + "next-word", c, seconds, warmup,
                    i => new { context = contexts[i % contexts.Length], topK = 10 }).GetAwaiter().GetResult();
                Emit(new { benchmark = "next-word", label, model, concurrency = c, words = a.Int("words", 20), r.Requests, r.Errors,
                    seconds = Math.Round(r.Seconds, 2), requestsPerSecond = Math.Round(r.Requests / r.Seconds, 1),
                    p50Ms = r.Percentile(50), p90Ms = r.Percentile(90), p99Ms = r.Percentile(99), rss = rss.Report() });
            }
        }
        else if (kind == "generate")
        {
            // One untimed generation first: connection set-up, JIT and the model's first-call costs stay out of the figures.
            http.PostAsync(path + "generate", Body(new { prompt = contexts[0], maxTokens = 10, ignoreEos = true })).GetAwaiter().GetResult()
                .EnsureSuccessStatusCode().Dispose();
            foreach (var s in streams)
                foreach (var t in tokens)
                {
                    // Runs of s concurrent generations, repeated for at least half the window and twice, as the bare loop
                    // measures: one run of ~2 s was mostly its ramp (requests arriving, prompts read) and noise.
                    using var rss = new RssSampler(pid);
                    var clock = Stopwatch.StartNew();
                    var runs = 0;
                    var all = new List<(int Tokens, double Seconds)>();
                    while (runs < 2 || clock.Elapsed.TotalSeconds < generateSeconds)
                    {
                        runs++;
                        all.AddRange(Task.WhenAll(Enumerable.Range(0, s).Select(async i =>
                        {
                            var one = Stopwatch.StartNew();
                            using var response = await http.PostAsync(path + "generate", Body(new
                            {
                                prompt = contexts[(i + runs * s) % contexts.Length], maxTokens = t, temperature = 1.0, seed = i + 1, ignoreEos = true,
                            }));
                            response.EnsureSuccessStatusCode();
                            var body = await response.Content.ReadFromJsonAsync<JsonObject>(Json);
                            return (Tokens: body!["usage"]!["completionTokens"]!.GetValue<int>(), Seconds: one.Elapsed.TotalSeconds);
                        })).GetAwaiter().GetResult());
                    }
                    var results = all;
                    var wall = clock.Elapsed.TotalSeconds;
                    var generated = results.Sum(r => r.Tokens);
                    Emit(new { benchmark = "generate", label, model, streams = s, maxTokens = t, runs, generatedTokens = generated,
                        seconds = Math.Round(wall, 3), tokensPerSecond = Math.Round(generated / wall, 1),
                        meanStreamSeconds = Math.Round(results.Average(r => r.Seconds), 3),
                        perStreamTokensPerSecond = Math.Round(results.Average(r => r.Tokens / r.Seconds), 1), rss = rss.Report() });
                }
        }
        else if (kind is "typing" or "long")
        {
            var words = File.ReadAllText(a.Get("contexts", "")).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            Func<int, object> body = kind == "typing"
                ? i => new { context = Typed(words, i, concurrency[0]), topK = 10 }
                : i => new { context = Long(words, i, characters), topK = 10 };
            foreach (var c in concurrency)
            {
                using var rss = new RssSampler(pid);
                var r = ClosedLoop(http, path + "next-word", c, seconds, warmup, body).GetAwaiter().GetResult();
                Emit(new { benchmark = kind, label, model, concurrency = c, characters = kind == "long" ? characters : (int?)null, r.Requests, r.Errors,
                    seconds = Math.Round(r.Seconds, 2), requestsPerSecond = Math.Round(r.Requests / r.Seconds, 1),
                    p50Ms = r.Percentile(50), p90Ms = r.Percentile(90), p99Ms = r.Percentile(99), rss = rss.Report() });
            }
        }
        else throw new ArgumentException($"unknown load kind '{kind}' (next-word, generate, typing or long)");
        return 0;
    }

    /// <summary>A buffered JSON body (with Content-Length, as load tools send it), not a chunked stream.</summary>
    private static StringContent Body(object value) =>
        new(JsonSerializer.Serialize(value, Json), System.Text.Encoding.UTF8, "application/json");

    private static void Emit(object line) => Console.WriteLine(JsonSerializer.Serialize(line, Json));

    /// <summary>
    /// The context of request <paramref name="i"/> of the typing load: client w = i mod clients sends its k-th request
    /// (k = i div clients) as 3 + k mod 58 words of a passage that changes every 58 requests.
    /// </summary>
    private static string Typed(string[] words, int i, int clients)
    {
        int w = i % clients, k = i / clients;
        var start = (int)(((long)w * 7919 + (long)(k / 58) * 104729) % (words.Length - 60));
        return string.Join(' ', words, start, 3 + k % 58);
    }

    /// <summary>About <paramref name="characters"/> characters of the test split starting at a different place per request.</summary>
    private static string Long(string[] words, int i, int characters)
    {
        var start = (int)((long)i * 3001 % (words.Length / 2));
        var text = new System.Text.StringBuilder();
        for (var j = start; j < words.Length && text.Length + words[j].Length + 1 <= characters; j++)
            text.Append(text.Length == 0 ? "" : " ").Append(words[j]);
        return text.ToString();
    }

    /// <summary>Windows of <paramref name="words"/> consecutive tokens from a normalised split (one verse per line).</summary>
    private static string[] Contexts(string path, int words)
    {
        var tokens = File.ReadAllText(path).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return Enumerable.Range(0, Math.Max(1, (tokens.Length - words) / 97)).Select(i => string.Join(' ', tokens.Skip(i * 97).Take(words))).ToArray();
    }

    private sealed record LoadResult(long Requests, long Errors, double Seconds, List<double> LatenciesMs)
    {
        public double? Percentile(double p)
        {
            if (LatenciesMs.Count == 0) return null;
            var sorted = LatenciesMs.Order().ToList();
            var rank = (int)Math.Ceiling(p / 100 * sorted.Count) - 1;
            return Math.Round(sorted[Math.Clamp(rank, 0, sorted.Count - 1)], 2);
        }
    }

    /// <summary><paramref name="workers"/> loops, each sending a request when its last one answered; counts those that finish inside the timed window.</summary>
    private static async Task<LoadResult> ClosedLoop(HttpClient http, string path, int workers, double seconds, double warmup, Func<int, object> body)
    {
        var clock = Stopwatch.StartNew();
        double start = warmup, end = warmup + seconds;
        var latencies = new List<double>[workers];
        var errors = new long[workers];
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            latencies[w] = [];
            for (int i = w; clock.Elapsed.TotalSeconds < end; i += workers)
            {
                var sent = clock.Elapsed.TotalSeconds;
                bool ok;
                try
                {
                    using var response = await http.PostAsync(path, Body(body(i)));
                    await response.Content.ReadAsByteArrayAsync();
                    ok = response.IsSuccessStatusCode;
                }
                catch (HttpRequestException) { ok = false; }
                var done = clock.Elapsed.TotalSeconds;
                if (sent < start || done > end) continue;
                if (ok) latencies[w].Add((done - sent) * 1000);
                else errors[w]++;
            }
        })));
        var all = latencies.SelectMany(l => l).ToList();
        return new LoadResult(all.Count, errors.Sum(), seconds, all);
    }

    /// <summary>Samples a process's VmRSS every 100 ms; reports it at the start and its peak.</summary>
    private sealed class RssSampler : IDisposable
    {
        private readonly int _pid;
        private readonly long _startKb;
        private long _peakKb;
        private readonly Timer? _timer;

        public RssSampler(int pid)
        {
            _pid = pid;
            if (pid <= 0) return;
            _startKb = _peakKb = Read();
            _timer = new Timer(_ => { var kb = Read(); lock (this) _peakKb = Math.Max(_peakKb, kb); }, null, 0, 100);
        }

        private long Read()
        {
            var line = File.ReadLines($"/proc/{_pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        }

        public object? Report()
        {
            if (_pid <= 0) return null;
            lock (this) return new { startMb = Math.Round(_startKb / 1024.0, 1), peakMb = Math.Round(_peakKb / 1024.0, 1) };
        }

        public void Dispose() => _timer?.Dispose();
    }
}
