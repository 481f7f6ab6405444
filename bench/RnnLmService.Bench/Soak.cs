using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace RnnLmService.Bench;

/// <summary>
/// <c>soak &lt;url&gt; keys=k1,k2,… admin=KEY pid=N [minutes=10 clients=64 model=starter jobs=10 uploads=40 seed=15]</c>:
/// <c>clients</c> closed-loop clients, each with its own key (round robin over <c>keys</c>), sending a seeded mix of
/// next-word, generation (streamed and not), scoring, <c>/v1/completions</c> (streamed, echo+logprobs),
/// <c>/v1/chat/completions</c> when the service's OpenAPI document has it, listings, dataset uploads (at most
/// <c>uploads</c>, half deleted again with the admin key) and small training jobs (at most <c>jobs</c>, polled until
/// they end), paced evenly over the run. Prints one JSON line per route (count, statuses, p50/p90/p99/max latency) and
/// one summary line (5xx, transport errors, the service's RSS each minute, at minute 2 and its largest deviation
/// after it); exits 1 on any 5xx, transport error or an RSS outside 10 % of minute 2. One line per minute splits the
/// RSS (<see cref="MemorySample"/>): the C heap glibc holds (in use, freed but kept), the GC heap, the state cache.
/// </summary>
internal static class Soak
{
    /// <summary>The served model's vocabulary (read once at start), so contexts are text the model knows.</summary>
    private static string[] Words = [];

    private sealed class Route
    {
        private readonly List<double> latencies = [];
        public readonly ConcurrentDictionary<string, int> Statuses = new();

        public void Add(string status, double ms)
        {
            Statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            lock (latencies) latencies.Add(ms);
        }

        public object Report(string name, double seconds)
        {
            double[] sorted;
            lock (latencies) sorted = [.. latencies.Order()];
            double P(double p) => sorted.Length == 0 ? 0 : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)], 1);
            return new
            {
                benchmark = "soak-route", route = name, requests = sorted.Length, perSecond = Math.Round(sorted.Length / seconds, 2),
                statuses = Statuses.OrderBy(s => s.Key).ToDictionary(s => s.Key, s => s.Value),
                p50Ms = P(50), p90Ms = P(90), p99Ms = P(99), maxMs = sorted.Length == 0 ? 0 : Math.Round(sorted[^1], 1),
            };
        }
    }

    public static int Run(string url, Args a)
    {
        var minutes = a.Double("minutes", 10);
        var clients = a.Int("clients", 64);
        var keys = a.Get("keys", "").Split(',', StringSplitOptions.RemoveEmptyEntries);
        var admin = a.Get("admin", "");
        var pid = a.Int("pid", 0);
        var model = a.Get("model", "starter");
        var maxJobs = a.Int("jobs", 10);
        var maxUploads = a.Int("uploads", 40);
        var seed = a.Int("seed", 15);
        a.RejectUnknown();
        if (keys.Length == 0) throw new ArgumentException("keys= is required (comma-separated)");

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024 })
        {
            BaseAddress = new Uri(url.TrimEnd('/') + "/"),
            Timeout = TimeSpan.FromSeconds(120), // only catches hangs: counted as transport errors
        };
        var paths = JsonDocument.Parse(http.GetStringAsync("swagger/v1/swagger.json").GetAwaiter().GetResult()).RootElement.GetProperty("paths");
        var chat = paths.TryGetProperty("/v1/chat/completions", out _);
        using (var vocabulary = new HttpRequestMessage(HttpMethod.Get, $"api/models/{model}/vocabulary?offset=2&limit=200"))
        {
            vocabulary.Headers.Authorization = new AuthenticationHeaderValue("Bearer", keys[0]);
            using var answer = http.Send(vocabulary).EnsureSuccessStatusCode();
            Words = [.. JsonDocument.Parse(answer.Content.ReadAsStream()).RootElement.GetProperty("items").EnumerateArray()
                .Select(e => e.GetProperty("token").GetString()!).Where(t => !t.StartsWith('<'))];
        }
        Console.Error.WriteLine($"soak: {clients} clients, {minutes} min, chat {(chat ? "on" : "off (no /v1/chat/completions in the document)")}");

        var state = new State(http, model, admin, TimeSpan.FromMinutes(minutes), maxJobs, maxUploads, chat);
        var rss = new List<(double Seconds, long Kb)>();
        var memory = new List<MemorySample>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(minutes));
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (ReadRssKb(pid) is { } kb) lock (rss) rss.Add((clock.Elapsed.TotalSeconds, kb));
                if (await MemorySample.TakeAsync(http, admin, pid, clock.Elapsed.TotalSeconds) is { } sample) memory.Add(sample);
                try { await Task.Delay(5000, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        var progress = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try { await Task.Delay(60_000, stop.Token); } catch (OperationCanceledException) { break; }
                Console.Error.WriteLine($"soak: {clock.Elapsed.TotalMinutes:F0} min, {state.Total} requests, {state.ServerErrors} 5xx, RSS {ReadRssKb(pid) / 1024} MiB");
            }
        });
        var workers = Enumerable.Range(0, clients).Select(i => Task.Run(() => state.ClientAsync(i, keys[i % keys.Length], new Random(seed * 1000 + i), stop.Token))).ToArray();
        Task.WaitAll(workers);
        sampler.Wait();
        progress.Wait();
        var seconds = clock.Elapsed.TotalSeconds;

        foreach (var (name, route) in state.Routes.OrderBy(r => r.Key))
            Emit(route.Report(name, seconds));
        foreach (var minute in memory.GroupBy(m => (int)(m.Seconds / 60)).Select(g => g.Last()))
            Emit(minute.Report());
        var (ok, summary) = Summary(state, rss, seconds);
        Emit(summary);
        return ok ? 0 : 1;
    }

    private static (bool, object) Summary(State state, List<(double Seconds, long Kb)> rss, double seconds)
    {
        var atTwo = rss.Where(s => s.Seconds >= 120).Select(s => (long?)s.Kb).FirstOrDefault();
        var after = rss.Where(s => s.Seconds >= 120).Select(s => s.Kb).ToList();
        double? Deviation(long kb) => atTwo is { } baseline ? Math.Round(100.0 * (kb - baseline) / baseline, 1) : null;
        var maxDeviation = after.Count == 0 ? null : after.Select(kb => Deviation(kb)).MaxBy(d => Math.Abs(d ?? 0));
        var final = after.Count == 0 ? null : Deviation(after[^1]);
        var perMinute = rss.GroupBy(s => (int)(s.Seconds / 60)).Select(g => g.Last().Kb / 1024).ToList();
        var rssOk = maxDeviation is { } d && Math.Abs(d) <= 10;
        var ok = state.ServerErrors == 0 && state.TransportErrors == 0 && rssOk;
        return (ok, new
        {
            benchmark = "soak-summary", seconds = Math.Round(seconds), requests = state.Total, serverErrors = state.ServerErrors,
            transportErrors = state.TransportErrors, jobsSubmitted = state.Jobs, jobsFinished = state.JobsFinished, uploads = state.Uploads,
            rssMiBPerMinute = perMinute, rssMiBAtMinute2 = atTwo / 1024, rssFinalVsMinute2Percent = final, rssLargestDeviationAfterMinute2Percent = maxDeviation,
            pass = ok,
        });
    }

    /// <summary>Shared state of the clients: routes, bounded job and upload budgets, the jobs to poll.</summary>
    private sealed class State(HttpClient http, string model, string admin, TimeSpan duration, int maxJobs, int maxUploads, bool chat)
    {
        public readonly ConcurrentDictionary<string, Route> Routes = new();
        private readonly ConcurrentQueue<string> datasets = new();
        private readonly ConcurrentDictionary<string, bool> jobs = new();
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private int total, serverErrors, transportErrors, jobCount, jobsFinished, uploads;

        public int Total => total;
        public int ServerErrors => serverErrors;
        public int TransportErrors => transportErrors;
        public int Jobs => jobCount;
        public int JobsFinished => jobsFinished;
        public int Uploads => uploads;

        public async Task ClientAsync(int index, string key, Random random, CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                var roll = random.Next(100);
                try
                {
                    await (roll switch
                    {
                        < 30 => NextWord(key, random),
                        < 40 => Generate(key, random, stream: true),
                        < 45 => Generate(key, random, stream: false),
                        < 57 => Score(key, random),
                        < 69 => Completions(key, random),
                        < 77 => chat ? Chat(key, random) : Completions(key, random),
                        < 87 => Listing(key, random),
                        < 93 => PollJob(key, random),
                        < 97 => Upload(key, random),
                        _ => SubmitJob(key, random),
                    });
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
            }
        }

        private string Sentence(Random random, int words) => string.Join(' ', Enumerable.Range(0, words).Select(_ => Words[random.Next(Words.Length)]));

        private Task NextWord(string key, Random r) =>
            Send("next-word", key, HttpMethod.Post, $"api/models/{model}/next-word", new { context = Sentence(r, r.Next(2, r.Next(10) == 0 ? 300 : 20)), topK = 5 });

        private Task Generate(string key, Random r, bool stream) =>
            Send(stream ? "generate (SSE)" : "generate", key, HttpMethod.Post, $"api/models/{model}/generate",
                new { prompt = Sentence(r, 3), maxTokens = r.Next(10, 60), temperature = 0.8, seed = r.Next(), stream });

        private Task Score(string key, Random r) =>
            Send("score", key, HttpMethod.Post, $"api/models/{model}/score", new { text = Sentence(r, r.Next(5, 40)), topK = 3 });

        private Task Completions(string key, Random r)
        {
            var kind = r.Next(3);
            object body = kind switch
            {
                0 => new { model, prompt = Sentence(r, 3), max_tokens = 16, temperature = 0.7, seed = r.Next() },
                1 => new { model, prompt = Sentence(r, 3), max_tokens = 24, stream = true },
                _ => new { model, prompt = Sentence(r, 6), max_tokens = 0, echo = true, logprobs = 3 },
            };
            return Send(kind switch { 0 => "v1 completions", 1 => "v1 completions (SSE)", _ => "v1 completions (echo logprobs)" }, key,
                HttpMethod.Post, "v1/completions", body);
        }

        private Task Chat(string key, Random r)
        {
            var stream = r.Next(2) == 0;
            return Send(stream ? "v1 chat (SSE)" : "v1 chat", key, HttpMethod.Post, "v1/chat/completions",
                new { model, messages = new[] { new { role = "user", content = Sentence(r, 5) } }, max_tokens = 16, stream });
        }

        private Task Listing(string key, Random r) => r.Next(4) switch
        {
            0 => Send("GET models", key, HttpMethod.Get, "api/models"),
            1 => Send("GET v1 models", key, HttpMethod.Get, "v1/models"),
            2 => Send("GET jobs", key, HttpMethod.Get, "api/training-jobs?limit=20"),
            _ => Send("GET datasets", key, HttpMethod.Get, "api/datasets?limit=20"),
        };

        private Task PollJob(string key, Random r)
        {
            var ids = jobs.Keys.ToArray();
            if (ids.Length == 0) return Listing(key, r);
            var id = ids[r.Next(ids.Length)];
            return Send("GET job", key, HttpMethod.Get, $"api/training-jobs/{id}", onBody: body =>
            {
                var status = JsonDocument.Parse(body).RootElement.GetProperty("status").GetString();
                if (status is "succeeded" or "failed" or "cancelled" && jobs.TryRemove(id, out _)) Interlocked.Increment(ref jobsFinished);
            });
        }

        /// <summary>True when a bounded budget may spend one more now: spread evenly over the run.</summary>
        private bool Paced(ref int used, int budget)
        {
            var allowed = (int)Math.Ceiling(budget * Math.Min(1, clock.Elapsed / duration + 0.05));
            while (true)
            {
                var current = Volatile.Read(ref used);
                if (current >= Math.Min(budget, allowed)) return false;
                if (Interlocked.CompareExchange(ref used, current + 1, current) == current) return true;
            }
        }

        private async Task Upload(string key, Random r)
        {
            if (!Paced(ref uploads, maxUploads)) { await NextWord(key, r); return; }
            var text = string.Join('\n', Enumerable.Range(0, 600).Select(_ => Sentence(r, r.Next(4, 12)))) + "\n";
            using var form = new MultipartFormDataContent { { new StringContent($"soak-{r.Next()}"), "name" }, { new StringContent(text), "file", "soak.txt" } };
            string? id = null;
            await Send("POST dataset", key, HttpMethod.Post, "api/datasets", content: form,
                onBody: body => id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString());
            if (id is null) return;
            // Half are kept for jobs; the other half deleted again (admin), so the store does not only grow.
            if (r.Next(2) == 0) datasets.Enqueue(id);
            else await Send("DELETE dataset", admin, HttpMethod.Delete, $"api/datasets/{id}");
        }

        private async Task SubmitJob(string key, Random r)
        {
            if (!datasets.TryPeek(out var dataset) || !Paced(ref jobCount, maxJobs)) { await Score(key, r); return; }
            var spec = new
            {
                datasetId = dataset, modelName = "soak", promote = false,
                model = new { cellType = "lstm", embeddingSize = 16, hiddenSize = 32, layers = 1, dropout = 0.0, tieWeights = false },
                training = new { epochs = 1, batchSize = 10, bptt = 10 },
            };
            await Send("POST job", key, HttpMethod.Post, "api/training-jobs", spec,
                onBody: body => jobs.TryAdd(JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!, true));
        }

        private async Task Send(string route, string key, HttpMethod method, string path, object? json = null, HttpContent? content = null, Action<string>? onBody = null)
        {
            using var request = new HttpRequestMessage(method, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            if (json is not null) request.Content = new StringContent(JsonSerializer.Serialize(json), Encoding.UTF8, "application/json");
            else if (content is not null) request.Content = content;
            var started = Stopwatch.GetTimestamp();
            string status;
            try
            {
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                var body = await response.Content.ReadAsStringAsync(); // a stream is timed to its last event
                var code = (int)response.StatusCode;
                status = code.ToString();
                if (code >= 500)
                {
                    Interlocked.Increment(ref serverErrors);
                    Console.Error.WriteLine($"soak: {code} on {method} {path}: {(body.Length > 300 ? body[..300] : body)}");
                }
                else if (code >= 400 && code != 429 && Routes.GetOrAdd(route, _ => new Route()).Statuses.GetValueOrDefault(status) < 3)
                    Console.Error.WriteLine($"soak: {code} on {method} {path}: {(body.Length > 300 ? body[..300] : body)}");
                else if (response.IsSuccessStatusCode && onBody is not null && code != (int)HttpStatusCode.NoContent) onBody(body);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                Interlocked.Increment(ref transportErrors);
                Console.Error.WriteLine($"soak: {e.GetType().Name} on {method} {path}: {e.Message}");
                status = "transport-error";
            }
            Interlocked.Increment(ref total);
            Routes.GetOrAdd(route, _ => new Route()).Add(status, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    /// <summary>
    /// Where the service's memory is at one moment: RSS and the resident part of its brk heap (<c>[heap]</c> in
    /// /proc/pid/smaps, glibc's main arena, where LibTorch's tensors live under the launchers' tunables), and from
    /// <c>/metrics</c> glibc's own account (in use, freed but kept), the .NET GC heap and the models' state caches.
    /// </summary>
    private sealed record MemorySample(double Seconds, long RssKb, long HeapRssKb, IReadOnlyDictionary<string, double> Metrics)
    {
        private static readonly string[] Wanted =
        [
            "rnnlm_memory_native_heap", "rnnlm_memory_native_in_use", "rnnlm_memory_native_free", "rnnlm_memory_gc_heap",
            "rnnlm_memory_gc_committed", "rnnlm_memory_tensors", "rnnlm_memory_sqlite", "rnnlm_state_cache_bytes", "rnnlm_state_cache_entries",
        ];

        public static async Task<MemorySample?> TakeAsync(HttpClient http, string key, int pid, double seconds)
        {
            if (pid <= 0 || ReadRssKb(pid) is not { } rss) return null;
            var metrics = new Dictionary<string, double>();
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "metrics");
                if (key.Length > 0) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                using var response = await http.SendAsync(request);
                foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n'))
                {
                    if (line.StartsWith('#') || line.Length == 0) continue;
                    var name = line[..line.IndexOfAny(['{', ' '])];
                    var wanted = Wanted.FirstOrDefault(w => name.StartsWith(w, StringComparison.Ordinal));
                    if (wanted is not null && double.TryParse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var v))
                        metrics[wanted] = metrics.GetValueOrDefault(wanted) + v; // summed over models
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
            }
            return new MemorySample(seconds, rss, ReadHeapRssKb(pid), metrics);
        }

        public object Report()
        {
            double? MiB(string name) => Metrics.TryGetValue(name, out var v) ? Math.Round(v / (1 << 20), 1) : null;
            return new
            {
                benchmark = "soak-memory", minute = (int)(Seconds / 60), seconds = Math.Round(Seconds), rssMiB = Math.Round(RssKb / 1024.0, 1),
                brkHeapRssMiB = Math.Round(HeapRssKb / 1024.0, 1),
                nativeHeapMiB = MiB("rnnlm_memory_native_heap"), nativeInUseMiB = MiB("rnnlm_memory_native_in_use"),
                nativeFreeMiB = MiB("rnnlm_memory_native_free"), gcHeapMiB = MiB("rnnlm_memory_gc_heap"),
                gcCommittedMiB = MiB("rnnlm_memory_gc_committed"), stateCacheMiB = MiB("rnnlm_state_cache_bytes"),
                stateCacheEntries = Metrics.GetValueOrDefault("rnnlm_state_cache_entries"), tensors = Metrics.GetValueOrDefault("rnnlm_memory_tensors"),
                sqliteMiB = MiB("rnnlm_memory_sqlite"),
            };
        }

        private static long ReadHeapRssKb(int pid)
        {
            try
            {
                var inHeap = false;
                foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
                {
                    if (line.Length > 0 && char.IsAsciiHexDigit(line[0]) && line.Contains('-')) inHeap = line.EndsWith("[heap]", StringComparison.Ordinal);
                    else if (inHeap && line.StartsWith("Rss:", StringComparison.Ordinal))
                        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
                }
            }
            catch (IOException)
            {
            }
            return 0;
        }
    }

    private static long? ReadRssKb(int pid)
    {
        if (pid <= 0) return null;
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:"));
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        }
        catch (IOException) { return null; }
    }

    private static void Emit(object line) => Console.WriteLine(JsonSerializer.Serialize(line, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
}
