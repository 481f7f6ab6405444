using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace RnnLmService.Worker.Tests.Workers;

/// <summary>
/// Starts the standalone worker (<c>dotnet RnnLmService.Worker.dll</c>) as real processes on a <see cref="TestStore"/>
/// and kills what is still running when disposed. Shared with the API tests (linked into that project).
/// </summary>
public sealed class WorkerProcesses(ITestOutputHelper output) : IDisposable
{
    private readonly List<Process> _processes = [];

    /// <summary>Every line the workers wrote, prefixed with the worker's name.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Lines { get; } = new();

    /// <summary>The worker's build output next to this test's (same configuration).</summary>
    public static string WorkerDll()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = dir.Parent!.Name; // .../bin/{Configuration}/net10.0/
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RnnLmService.sln"))) dir = dir.Parent;
        var dll = Path.Combine(dir!.FullName, "src", "Worker", "bin", configuration, "net10.0", "RnnLmService.Worker.dll");
        Assert.True(File.Exists(dll), $"the worker build output {dll} is missing");
        return dll;
    }

    /// <summary>A loopback port nobody listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts a worker on the store's data directory; its health endpoints on <paramref name="port"/> (else any port).</summary>
    public Process Start(TestStore store, string name, int? port = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        var info = new ProcessStartInfo("dotnet", [WorkerDll()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var env = info.Environment;
        env["RnnLm__DataDirectory"] = store.DataDirectory;
        env["RnnLm__Store__Provider"] = store.Provider;
        if (store.Options.Store.ConnectionString is { } cs) env["RnnLm__Store__ConnectionString"] = cs;
        env["RnnLm__Worker__PollInterval"] = "00:00:00.100";
        env["RnnLm__Worker__HeartbeatInterval"] = "00:00:00.250";
        // A long lease: a restarted worker must see that a killed process is gone, not wait the lease out.
        env["RnnLm__Worker__LeaseDuration"] = "00:10:00";
        env["RnnLm__Worker__CheckpointInterval"] = "00:00:01";
        env["RnnLm__Worker__TorchThreads"] = "1";
        env["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port ?? 0}";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) env[key] = value;
        var p = Process.Start(info)!;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) Log($"[{name}] {e.Data}"); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Log($"[{name}!] {e.Data}"); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        lock (_processes) _processes.Add(p);
        return p;
    }

    private void Log(string line)
    {
        Lines.Enqueue(line);
        try { output.WriteLine(line); }
        catch (InvalidOperationException) { } // output after the test finished
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try { if (!p.HasExited) p.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
            p.Dispose();
        }
    }
}
