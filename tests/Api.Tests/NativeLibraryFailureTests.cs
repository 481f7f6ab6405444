using System.Runtime.InteropServices;
using RnnLmService.Api.Tests.TestSupport;
using RnnLmService.Core;

namespace RnnLmService.Api.Tests;

/// <summary>
/// The host fails at start with one sentence and exit code 3 when LibTorch cannot load, and starts quietly when it can.
/// The app is the copy of RnnLmService.Api that the build puts next to these tests (with its runtimes/*/native libraries).
/// </summary>
public sealed class NativeLibraryFailureTests : IDisposable
{
    private const string AppDll = "RnnLmService.Api.dll";
    private const string SentenceStart = "TorchSharp's native library";
    private static readonly TimeSpan HangTimeout = TimeSpan.FromSeconds(60);

    private readonly string temp = Directory.CreateTempSubdirectory("rnnlm-native-").FullName;

    public void Dispose() => Directory.Delete(temp, recursive: true);

    [Fact]
    public void EnsureLoaded_succeeds_in_process_with_the_intact_libraries()
    {
        NativeRuntime.EnsureLoaded();

        Assert.True(NativeRuntime.TryEnsureLoaded(out var sentence));
        Assert.Null(sentence);
    }

    [Fact]
    public async Task A_corrupt_libtorch_makes_the_host_exit_3_with_one_sentence()
    {
        var app = CopyAppWithGarbage("libtorch_cpu.so");

        var result = await ProcessRunner.RunAsync(ProcessRunner.DotnetHost, [Path.Combine(app, AppDll), "--urls", "http://127.0.0.1:0"],
            app, ChildEnvironment(), HangTimeout);

        Assert.False(result.TimedOut, $"the host hung; output:\n{result.StdOut}{result.StdErr}");
        Assert.Equal(NativeRuntime.ExitCode, result.ExitCode);
        var line = Assert.Single(result.OutputLines);
        Assert.StartsWith(SentenceStart, line);
        Assert.Contains(Path.Combine(app, NativeDirectory, "libtorch_cpu.so"), line); // failed because of our corruption, not by chance
        Assert.Contains("scripts/prereqs.sh", line);
        Assert.EndsWith("start again.", line);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(20), $"failing took {result.Elapsed}");
    }

    [Fact]
    public async Task The_intact_host_starts_without_the_sentence()
    {
        var app = AppContext.BaseDirectory;

        var result = await ProcessRunner.RunUntilAsync(ProcessRunner.DotnetHost, [Path.Combine(app, AppDll), "--urls", "http://127.0.0.1:0"],
            temp, ChildEnvironment(), HangTimeout, stopWhen: line => line.Contains("Application started", StringComparison.Ordinal));

        Assert.False(result.TimedOut, $"the host did not report that it started; output:\n{result.StdOut}{result.StdErr}");
        Assert.Equal(-1, result.ExitCode); // still running when stopped
        Assert.DoesNotContain(SentenceStart, result.StdOut + result.StdErr);
    }

    [Fact]
    public void The_sentence_names_a_missing_libstdcxx_symbol_version()
    {
        // What .NET reports on Debian 12 (libstdc++ from GCC 12) for TorchSharp 0.107.
        var failure = new DllNotFoundException(
            "Unable to load shared library 'LibTorchSharp' or one of its dependencies. In order to help diagnose loading problems, " +
            "consider using a tool like strace. If you're using glibc, consider setting the LD_DEBUG environment variable: \n" +
            "/app/runtimes/linux-x64/native/libLibTorchSharp.so: cannot open shared object file: No such file or directory\n" +
            "/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by /app/runtimes/linux-x64/native/libtorch_cpu.so)\n");

        var sentence = NativeRuntime.Describe(failure);

        Assert.Equal("TorchSharp's native library (LibTorch 2.10) could not be loaded: libstdc++ lacks GLIBCXX_3.4.32; " +
                     "run scripts/prereqs.sh as root (or install libstdc++6 from GCC 13 or newer) and start again.", sentence);
    }

    private static string NativeDirectory => Path.Combine("runtimes", RuntimeInformation.RuntimeIdentifier, "native");

    /// <summary>
    /// Copies the app's top-level files and its native directory into the temp directory, with <paramref name="library"/>
    /// replaced by a file that is not a shared library (a truncated ELF would crash the loader with SIGBUS instead).
    /// </summary>
    private string CopyAppWithGarbage(string library)
    {
        var source = AppContext.BaseDirectory;
        var app = Directory.CreateDirectory(Path.Combine(temp, "app")).FullName;
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(app, Path.GetFileName(file)));

        var nativeSource = Path.Combine(source, NativeDirectory);
        Assert.True(File.Exists(Path.Combine(nativeSource, library)), $"expected {library} in {nativeSource}");
        var native = Directory.CreateDirectory(Path.Combine(app, NativeDirectory)).FullName;
        foreach (var file in Directory.GetFiles(nativeSource))
        {
            var name = Path.GetFileName(file);
            if (name == library) File.WriteAllText(Path.Combine(native, name), "this is not a shared library\n");
            else if (name != "libtorch_python.so") File.Copy(file, Path.Combine(native, name)); // the one big library LibTorchSharp does not need
        }
        return app;
    }

    /// <summary>
    /// No NuGet cache for the child: when its own load fails, TorchSharp would otherwise copy LibTorch out of
    /// ~/.nuget/packages next to TorchSharp.dll and load that instead.
    /// </summary>
    private Dictionary<string, string?> ChildEnvironment() => new()
    {
        ["NUGET_PACKAGES"] = Path.Combine(temp, "no-nuget-packages"),
        ["HOME"] = temp,
        ["LD_LIBRARY_PATH"] = null,
        ["ASPNETCORE_URLS"] = null,
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["DOTNET_NOLOGO"] = "1",
        ["RnnLm__DataDirectory"] = Path.Combine(temp, "data"),
    };
}
