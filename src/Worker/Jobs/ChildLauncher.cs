using System.Diagnostics;
using RnnLmService.Core;
using RnnLmService.Worker.Child;

namespace RnnLmService.Worker.Jobs;

/// <summary>
/// Starts a training process: the worker assembly beside the running one (the API's and the tests' output folders
/// hold it because they reference the worker project) under the same .NET host, with the running application's
/// dependency and runtime files (which list the worker's dependencies, TorchSharp included), the allocator settings of
/// <see cref="NativeMemory.RecommendedTunables"/> whatever way this process was started, and
/// <c>RnnLm:Worker:ChildEnvironment</c>.
/// </summary>
public static class ChildLauncher
{
    /// <summary>Starts <c>run-job</c> with standard input, output and error redirected.</summary>
    public static Process Start(IReadOnlyDictionary<string, string> extraEnvironment)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "RnnLmService.Worker.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("The worker assembly (RnnLmService.Worker.dll) is not beside the running application.");
        var info = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("exec");
        var (deps, runtimeConfig) = HostFiles(dll);
        if (runtimeConfig is not null) { info.ArgumentList.Add("--runtimeconfig"); info.ArgumentList.Add(runtimeConfig); }
        if (deps is not null) { info.ArgumentList.Add("--depsfile"); info.ArgumentList.Add(deps); }
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add(ChildProtocol.RunJobVerb);
        info.Environment["GLIBC_TUNABLES"] = NativeMemory.RecommendedTunables;
        foreach (var (key, value) in extraEnvironment) info.Environment[key] = value;
        return Process.Start(info) ?? throw new InvalidOperationException("The training process did not start.");
    }

    /// <summary>The <c>dotnet</c> running this process, else the one the SDK named, else the one on PATH.</summary>
    private static string DotnetHost()
    {
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet") return self;
        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
    }

    /// <summary>The worker's own deps/runtimeconfig when published with it, else those of the running application.</summary>
    private static (string? Deps, string? RuntimeConfig) HostFiles(string dll)
    {
        var own = Path.ChangeExtension(dll, null);
        if (File.Exists(own + ".deps.json") && File.Exists(own + ".runtimeconfig.json")) return (own + ".deps.json", own + ".runtimeconfig.json");
        var appDeps = (AppContext.GetData("APP_CONTEXT_DEPS_FILES") as string)?.Split(';', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        if (appDeps is null || !File.Exists(appDeps)) return (null, File.Exists(own + ".runtimeconfig.json") ? own + ".runtimeconfig.json" : null);
        var config = appDeps[..^".deps.json".Length] + ".runtimeconfig.json";
        return (appDeps, File.Exists(config) ? config : null);
    }
}
