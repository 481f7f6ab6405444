using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using TorchSharp;

namespace RnnLmService.Core;

/// <summary>
/// Loads TorchSharp's native library (LibTorch) up front, so that a machine that cannot run it fails at
/// start with one sentence instead of a loader trace at the first tensor.
/// </summary>
/// <remarks>
/// The library is first loaded the way TorchSharp's own first attempt does (by name, relative to
/// TorchSharp.dll, i.e. through the app's deps.json: <c>runtimes/linux-x64/native/libLibTorchSharp.so</c>
/// and its neighbours). Doing it ourselves keeps the loader's reason (for example a missing
/// <c>GLIBCXX_3.4.32</c>), which TorchSharp discards, and keeps TorchSharp from falling back to copying
/// ~500 MB of native libraries out of the NuGet cache next to TorchSharp.dll and printing its trace to stdout.
/// </remarks>
public static partial class NativeRuntime
{
    /// <summary>The process exit code of <see cref="EnsureLoadedOrExit"/> when the native library cannot load.</summary>
    public const int ExitCode = 3;

    private static readonly Lock Gate = new();
    private static bool loaded;

    /// <summary>Loads the native library and runs one tiny tensor operation; throws <see cref="NativeLibraryException"/> with one sentence otherwise.</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (loaded) return;
            try
            {
                NativeLibrary.Load("LibTorchSharp", typeof(torch).Assembly, null);
                // TorchSharp prints its own load trace to stdout when it gives up: keep it off the console.
                var stdout = Console.Out;
                Console.SetOut(TextWriter.Null);
                try
                {
                    torch.InitializeDeviceType(DeviceType.CPU);
                    using var probe = torch.ones(1);
                }
                finally
                {
                    Console.SetOut(stdout);
                }
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException
                                          or TypeInitializationException or NotSupportedException or InvalidOperationException)
            {
                throw new NativeLibraryException(Describe(e), e);
            }
            loaded = true;
        }
    }

    /// <summary>Like <see cref="EnsureLoaded"/>, but returns the sentence instead of throwing.</summary>
    public static bool TryEnsureLoaded(out string? sentence)
    {
        try
        {
            EnsureLoaded();
            sentence = null;
            return true;
        }
        catch (NativeLibraryException e)
        {
            sentence = e.Message;
            return false;
        }
    }

    /// <summary>
    /// What a host calls first: when the native library cannot load, writes the one sentence to stderr
    /// and ends the process with exit code <see cref="ExitCode"/> (3). Runs before logging exists, hence stderr.
    /// </summary>
    public static void EnsureLoadedOrExit()
    {
        if (TryEnsureLoaded(out var sentence)) return;
        Console.Error.WriteLine(sentence);
        Console.Error.Flush();
        Environment.Exit(ExitCode);
    }

    /// <summary>The one sentence for a load failure: why (a missing libstdc++ symbol version, or the loader's first specific complaint) and how to fix it.</summary>
    public static string Describe(Exception failure)
    {
        var messages = new List<string>();
        for (var e = failure; e is not null; e = e.InnerException) messages.Add(e.Message);

        string reason, fix;
        var glibcxx = messages.Select(m => GlibcxxVersion().Match(m)).FirstOrDefault(m => m.Success);
        if (glibcxx is not null)
        {
            reason = $"libstdc++ lacks {glibcxx.Value}";
            fix = "run scripts/prereqs.sh as root (or install libstdc++6 from GCC 13 or newer) and start again";
        }
        else
        {
            // The loader's own lines look like "<path>.so: <why>", one per name variation it tried; the one that
            // found a file but could not use it says why. Else the first line of the innermost message.
            var loaderLines = messages.SelectMany(m => m.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                                      .Where(l => LoaderLine().IsMatch(l)).ToList();
            reason = loaderLines.FirstOrDefault(l => !l.EndsWith("No such file or directory", StringComparison.Ordinal))
                     ?? loaderLines.FirstOrDefault()
                     ?? messages[^1].Split('\n', StringSplitOptions.TrimEntries).FirstOrDefault(l => l.Length > 0)
                     ?? failure.GetType().Name;
            fix = "rebuild or republish the app so its native libraries are complete, run scripts/prereqs.sh as root, and start again";
        }
        reason = reason.TrimEnd('.', ' ');
        return $"TorchSharp's native library (LibTorch 2.10) could not be loaded: {reason}; {fix}.";
    }

    [GeneratedRegex(@"GLIBCXX_\d+(\.\d+)+")]
    private static partial Regex GlibcxxVersion();

    [GeneratedRegex(@"\.(so(\.\d+)*|dylib|dll): ")]
    private static partial Regex LoaderLine();
}
