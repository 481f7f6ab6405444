// Drives POST /api/models/{model}/next-word from N concurrent clients for a fixed time and prints one
// Markdown table row: requests per second and latency percentiles. Usage:
//   dotnet run -c Release -- <baseUrl> <label> [concurrency=64] [seconds=15] [model=starter] [contextWords=150]
// Contexts are long (paragraph-sized) so that the model's work, not HTTP, dominates a request.
using System.Diagnostics;
using System.Net.Http.Json;

var baseUrl = args.Length > 0 ? args[0] : "http://127.0.0.1:5000";
var label = args.Length > 1 ? args[1] : "run";
var concurrency = args.Length > 2 ? int.Parse(args[2]) : 64;
var seconds = args.Length > 3 ? double.Parse(args[3]) : 15;
var model = args.Length > 4 ? args[4] : "starter";
var contextWords = args.Length > 5 ? int.Parse(args[5]) : 150;

string[] words = ["the", "old", "cat", "saw", "a", "bright", "ball", "in", "the", "garden", "and", "slept", "one", "day", "the", "fox", "ran"];
string Context(int i) => string.Join(' ', Enumerable.Range(0, contextWords + i % 16).Select(j => words[(i * 5 + j) % words.Length]));

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency }) { BaseAddress = new Uri(baseUrl) };
async Task<bool> One(int i)
{
    using var response = await http.PostAsJsonAsync($"/api/models/{model}/next-word", new { context = Context(i), topK = 5 });
    return response.IsSuccessStatusCode;
}

// Warm-up: load the model and the connections.
await Task.WhenAll(Enumerable.Range(0, concurrency).Select(One));

var latencies = new List<double>[concurrency];
var failures = 0;
var clock = Stopwatch.StartNew();
var until = TimeSpan.FromSeconds(seconds);
await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async c =>
{
    latencies[c] = [];
    for (var i = c; clock.Elapsed < until; i += concurrency)
    {
        var start = Stopwatch.GetTimestamp();
        if (!await One(i)) Interlocked.Increment(ref failures);
        latencies[c].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }
}));
var elapsed = clock.Elapsed.TotalSeconds;
var all = latencies.SelectMany(l => l).Order().ToList();
double P(double q) => all[Math.Min(all.Count - 1, (int)(q * all.Count))];
Console.WriteLine($"| {label} | {concurrency} | {all.Count} | {all.Count / elapsed:F1} | {P(0.5):F1} | {P(0.95):F1} | {P(0.99):F1} | {failures} |");
