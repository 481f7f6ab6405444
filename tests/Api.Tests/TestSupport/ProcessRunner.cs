using System.Diagnostics;
using System.Text;

namespace RnnLmService.Api.Tests.TestSupport;

/// <summary>What a finished (or stopped) child process left behind.</summary>
public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr, TimeSpan Elapsed, bool TimedOut)
{
    /// <summary>Non-empty lines of stdout and stderr together.</summary>
    public IReadOnlyList<string> OutputLines =>
        (StdOut + "\n" + StdErr).Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0).ToList();
}

/// <summary>Runs child processes for tests: captured output, extra environment, a timeout that only catches hangs.</summary>
public static class ProcessRunner
{
    /// <summary>The dotnet host running these tests (what <c>dotnet test</c> exports), else <c>dotnet</c> on the PATH.</summary>
    public static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>Runs to completion; kills the process tree when <paramref name="timeout"/> passes.</summary>
    public static Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> args, string workingDirectory,
        IReadOnlyDictionary<string, string?>? environment, TimeSpan timeout) =>
        RunUntilAsync(fileName, args, workingDirectory, environment, timeout, stopWhen: null);

    /// <summary>
    /// Runs until it exits, or until a line of stdout or stderr satisfies <paramref name="stopWhen"/> (then the
    /// process tree is killed and <see cref="ProcessResult.ExitCode"/> is -1), or until <paramref name="timeout"/>.
    /// </summary>
    public static async Task<ProcessResult> RunUntilAsync(string fileName, IEnumerable<string> args, string workingDirectory,
        IReadOnlyDictionary<string, string?>? environment, TimeSpan timeout, Func<string, bool>? stopWhen)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) start.Environment.Remove(key); else start.Environment[key] = value;
        }

        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var matched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var process = new Process { StartInfo = start };
        void OnLine(StringBuilder sink, string? line)
        {
            if (line is null) return;
            lock (sink) sink.AppendLine(line);
            if (stopWhen?.Invoke(line) == true) matched.TrySetResult();
        }
        process.OutputDataReceived += (_, e) => OnLine(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(stderr, e.Data);

        var clock = Stopwatch.StartNew();
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(exited, matched.Task, Task.Delay(timeout));
        var timedOut = first != exited && first != matched.Task;
        if (first != exited)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { /* already gone */ }
        }
        await process.WaitForExitAsync(); // also drains the redirected streams
        clock.Stop();

        var exitCode = first == exited ? process.ExitCode : -1;
        string Text(StringBuilder sb) { lock (sb) return sb.ToString(); }
        return new ProcessResult(exitCode, Text(stdout), Text(stderr), clock.Elapsed, timedOut);
    }
}
