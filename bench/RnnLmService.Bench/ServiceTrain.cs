using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RnnLmService.Bench;

/// <summary>
/// The classic training run queued through a running service: uploads the three splits as a dataset,
/// posts a training job with the same spec <c>quality</c> runs directly, polls it to the end, and reports the
/// job's own run time (startedAt → finishedAt), the client's time from upload to finish, the last reported
/// throughput and the test perplexity. Compare with <c>quality &lt;dir&gt; epochs=N</c>, which runs the same trainer in-process.
/// </summary>
internal static class ServiceTrain
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static int Run(string url, string dir, Args a)
    {
        var spec = ClassicSpec.From(a);
        var modelName = a.Get("model", "kjv-bench");
        var poll = TimeSpan.FromSeconds(a.Double("poll", 2));
        a.RejectUnknown();
        using var http = new HttpClient { BaseAddress = new Uri(url.TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(30) };
        var clock = Stopwatch.StartNew();

        using var form = new MultipartFormDataContent { { new StringContent(modelName), "name" } };
        foreach (var split in new[] { "train", "valid", "test" })
        {
            var file = new StreamContent(File.OpenRead(Path.Combine(dir, split + ".txt")));
            file.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            form.Add(file, split, split + ".txt");
        }
        var dataset = Send(http.PostAsync("api/datasets", form));
        var datasetId = dataset["id"]!.GetValue<string>();

        var job = Send(http.PostAsJsonAsync("api/training-jobs", new
        {
            datasetId, modelName, tokenizer = spec.Tokenizer, model = spec.Model, training = spec.Training,
        }, Json));
        var id = job["id"]!.GetValue<string>();
        Console.Error.WriteLine($"[service] dataset {datasetId}, job {id} queued");
        string status;
        do
        {
            Thread.Sleep(poll);
            job = Send(http.GetAsync($"api/training-jobs/{id}"));
            status = job["status"]!.GetValue<string>();
            var p = job["progress"];
            Console.Error.WriteLine($"[service] {status} epoch {p?["epoch"]}/{p?["totalEpochs"]} step {p?["step"]}/{p?["totalSteps"]} tok/s {p?["tokensPerSecond"]}");
        } while (status is "queued" or "running");
        var seconds = clock.Elapsed.TotalSeconds;

        DateTime? Time(string key) => job[key] is { } v ? v.GetValue<DateTime>() : null;
        var run = Time("finishedAt") - Time("startedAt");
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            contender = "service",
            status,
            epochs = spec.Training.Epochs,
            jobSeconds = run is { } r ? Math.Round(r.TotalSeconds, 1) : (double?)null,
            clientSeconds = Math.Round(seconds, 1),
            tokensPerSecond = job["progress"]?["tokensPerSecond"]?.GetValue<double>(),
            testPpl = job["testPerplexity"]?.GetValue<double>(),
            model = job["producedModel"]?["ref"]?.GetValue<string>(),
            failure = job["failureReason"]?.GetValue<string>(),
        }, Json));
        return status == "succeeded" ? 0 : 1;
    }

    private static JsonObject Send(Task<HttpResponseMessage> request)
    {
        using var response = request.GetAwaiter().GetResult();
        var body = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{(int)response.StatusCode} from {response.RequestMessage?.RequestUri}: {body}");
        return JsonNode.Parse(body)!.AsObject();
    }
}
