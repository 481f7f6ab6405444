using System.Diagnostics;
using System.Text.RegularExpressions;

namespace RnnLmService.Tests.Shared;

/// <summary>
/// A real S3-speaking server for the object-storage tests: <c>s3rver</c> (npm), installed by <c>scripts/prereqs.sh s3</c>
/// into <c>.tools/s3rver</c> (or found at <c>RNNLM_S3RVER</c>), started on 127.0.0.1 on a port the OS picks, with its
/// own temporary directory; stopped and removed at dispose. Its credentials are s3rver's fixed <c>S3RVER</c>/<c>S3RVER</c>.
/// </summary>
public sealed partial class S3rverServer : IDisposable
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private readonly Process _process;
    private readonly string _directory = Directory.CreateTempSubdirectory("rnnlm-s3rver-").FullName;

    public S3rverServer()
    {
        var exe = Locate();
        _process = Process.Start(new ProcessStartInfo("node", [exe, "-d", _directory, "-a", "127.0.0.1", "-p", "0"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        }) ?? throw new InvalidOperationException("node could not start s3rver");
        var ready = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && Listening().Match(line) is { Success: true } m) ready.TrySetResult(m.Groups[1].Value);
        };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        if (!ready.Task.Wait(TimeSpan.FromSeconds(60)))
        {
            Dispose();
            throw new InvalidOperationException("s3rver did not say it was listening within 60 s");
        }
        Endpoint = $"http://127.0.0.1:{ready.Task.Result}";
    }

    /// <summary>The server's URL, <c>http://127.0.0.1:{port}</c>.</summary>
    public string Endpoint { get; }

    /// <summary>A bucket name nobody used yet (the store creates it on first write).</summary>
    public static string NewBucket() => $"rnnlm-{Guid.NewGuid():N}"[..30];

    private static string Locate()
    {
        if (Environment.GetEnvironmentVariable("RNNLM_S3RVER") is { Length: > 0 } configured) return configured;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "RnnLmService.sln"))) continue;
            var exe = Path.Combine(dir.FullName, ".tools", "s3rver", "node_modules", "s3rver", "bin", "s3rver.js");
            if (File.Exists(exe)) return exe;
            break;
        }
        throw new InvalidOperationException("s3rver is not installed: run scripts/prereqs.sh s3 (make test does), or set RNNLM_S3RVER to s3rver's bin/s3rver.js.");
    }

    [GeneratedRegex(@"listening on [^:\s]+:(\d+)")]
    private static partial Regex Listening();

    public void Dispose()
    {
        try { if (!_process.HasExited) { _process.Kill(entireProcessTree: true); _process.WaitForExit(10_000); } }
        catch (InvalidOperationException) { }
        _process.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
