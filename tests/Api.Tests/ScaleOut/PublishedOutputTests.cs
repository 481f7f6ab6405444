using System.Diagnostics;
using System.Net;
using RnnLmService.Api.Tests.TestSupport;
using RnnLmService.Worker.Tests.Workers;
using Xunit.Abstractions;

namespace RnnLmService.Api.Tests.ScaleOut;

/// <summary>
/// What the Dockerfile ships: the API and the worker published into one folder. Published once for the class, into
/// a temporary folder with its own build artifacts (never the source tree's bin/obj, which other tests run from).
/// </summary>
public sealed class PublishedOutput : IAsyncLifetime
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), $"rnnlm-publish-{Guid.NewGuid():N}");
    public string App => Path.Combine(Root, "app");
    public List<string> Log { get; } = [];

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RnnLmService.sln"))) dir = dir.Parent;
        return dir!.FullName;
    }

    public async Task InitializeAsync()
    {
        var repo = RepoRoot();
        foreach (var project in new[] { "src/Api/RnnLmService.Api.csproj", "src/Worker/RnnLmService.Worker.csproj" })
        {
            var result = await ProcessRunner.RunAsync(ProcessRunner.DotnetHost,
                ["publish", project, "-c", "Release", "-o", App, "--artifacts-path", Path.Combine(Root, "artifacts"), "-p:NuGetAudit=false", "--nologo"],
                repo, null, TimeSpan.FromMinutes(5));
            Log.Add($"publish {project}: exit {result.ExitCode} in {result.Elapsed}");
            if (result.ExitCode != 0)
                throw new InvalidOperationException($"dotnet publish {project} failed ({result.ExitCode}):\n{result.StdOut}\n{result.StdErr}");
        }
    }

    public Task DisposeAsync()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
        return Task.CompletedTask;
    }
}

public sealed class PublishedOutputTests(PublishedOutput published, ITestOutputHelper output) : IClassFixture<PublishedOutput>, IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"rnnlm-published-data-{Guid.NewGuid():N}");
    private readonly List<Process> _processes = [];

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try { if (!p.HasExited) p.Kill(entireProcessTree: true); p.WaitForExit(5000); }
            catch (InvalidOperationException) { }
            p.Dispose();
        }
        try { Directory.Delete(_data, recursive: true); }
        catch (IOException) { }
    }

    private Process Run(string dll, string name, params string[] args)
    {
        var info = new ProcessStartInfo(ProcessRunner.DotnetHost) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = published.App };
        info.ArgumentList.Add(Path.Combine(published.App, dll));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["RnnLm__DataDirectory"] = _data;
        info.Environment["RnnLm__StarterModel"] = "false";
        info.Environment["RnnLm__Worker__TorchThreads"] = "1";
        var p = Process.Start(info)!;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) Write($"[{name}] {e.Data}"); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Write($"[{name}!] {e.Data}"); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _processes.Add(p);
        return p;
    }

    private void Write(string line)
    {
        try { output.WriteLine(line); }
        catch (InvalidOperationException) { }
    }

    private static async Task<HttpStatusCode?> WaitForAsync(Process process, string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try { return (await http.GetAsync(url)).StatusCode; }
            catch (HttpRequestException) { await Task.Delay(200); } // not listening yet
        }
        return null;
    }

    [Fact]
    public async Task The_published_api_answers_health_and_the_published_probe_reports_it()
    {
        published.Log.ForEach(output.WriteLine);
        var port = WorkerProcesses.FreePort();
        var api = Run("RnnLmService.Api.dll", "api", "--urls", $"http://127.0.0.1:{port}");
        Assert.Equal(HttpStatusCode.OK, await WaitForAsync(api, $"http://127.0.0.1:{port}/health/live"));

        var probe = await ProcessRunner.RunAsync(ProcessRunner.DotnetHost,
            [Path.Combine(published.App, "RnnLmService.Worker.dll"), "probe", $"http://127.0.0.1:{port}/health/live"], published.App, null, TimeSpan.FromSeconds(30));
        output.WriteLine($"probe (open port): exit {probe.ExitCode} {probe.StdErr}");
        Assert.Equal(0, probe.ExitCode);

        var closed = WorkerProcesses.FreePort();
        var refused = await ProcessRunner.RunAsync(ProcessRunner.DotnetHost,
            [Path.Combine(published.App, "RnnLmService.Worker.dll"), "probe", $"http://127.0.0.1:{closed}/health/live"], published.App, null, TimeSpan.FromSeconds(30));
        output.WriteLine($"probe (closed port): exit {refused.ExitCode} {refused.StdErr}");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.False(refused.TimedOut);
        Assert.False(api.HasExited);
    }

    [Fact]
    public async Task The_published_worker_runs_from_the_same_folder_and_reports_ready()
    {
        var port = WorkerProcesses.FreePort();
        var worker = Run("RnnLmService.Worker.dll", "worker", "--urls", $"http://127.0.0.1:{port}");
        Assert.Equal(HttpStatusCode.OK, await WaitForAsync(worker, $"http://127.0.0.1:{port}/health/ready"));
        Assert.False(worker.HasExited);
    }

    [Fact]
    public async Task The_published_api_serves_the_playground()
    {
        Assert.True(File.Exists(Path.Combine(published.App, "wwwroot", "index.html")), "wwwroot is not in the published output");
        var port = WorkerProcesses.FreePort();
        var api = Run("RnnLmService.Api.dll", "api", "--urls", $"http://127.0.0.1:{port}");
        Assert.Equal(HttpStatusCode.OK, await WaitForAsync(api, $"http://127.0.0.1:{port}/health/live"));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        Assert.Contains("<script type=\"module\" src=\"app.js\"></script>", await http.GetStringAsync("/"));
        Assert.Contains("export function init", await http.GetStringAsync("/js/views/train.js"));
    }
}
