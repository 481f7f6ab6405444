using System.Runtime.InteropServices;

namespace RnnLmService.Worker.Child;

/// <summary>
/// POSIX signals through libc's <c>kill</c>: .NET's <c>Process.Kill</c> only sends SIGKILL, and a training process
/// needs SIGTERM first to write its checkpoint.
/// </summary>
public static class Signals
{
    /// <summary>SIGTERM: checkpoint and exit.</summary>
    public const int Terminate = 15;
    /// <summary>SIGKILL: gone at once.</summary>
    public const int Kill = 9;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when the process is gone.</summary>
    public static bool Send(int pid, int signal) => NativeKill(pid, signal) == 0;

    /// <summary>A person's name for a signal number.</summary>
    public static string Name(int signal) => signal switch
    {
        1 => "SIGHUP", 2 => "SIGINT", 3 => "SIGQUIT", 4 => "SIGILL", 6 => "SIGABRT", 7 => "SIGBUS", 8 => "SIGFPE",
        9 => "SIGKILL", 11 => "SIGSEGV", 13 => "SIGPIPE", 15 => "SIGTERM", 24 => "SIGXCPU", 25 => "SIGXFSZ",
        _ => $"signal {signal}",
    };

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int NativeKill(int pid, int sig);
}
