using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using RnnLmService.Api.Tests.TestSupport;
using RnnLmService.Core.Storage.Keys;
using Serilog.Core;
using Serilog.Events;

namespace RnnLmService.Api.Tests.Security;

/// <summary>
/// A host with three configured keys: <c>reader</c> (read, by Key), <c>trainer</c> (train, by KeySha256 only) and
/// <c>boss</c> (admin, by Key); limits off unless a subclass sets them. Every log event is captured.
/// </summary>
public class KeyedFactory : ApiFactory
{
    public const string ReadKey = "reader-key-0123456789abcdef";
    public const string TrainKey = "trainer-key-0123456789abcdef";
    public const string AdminKey = "boss-key-0123456789abcdef";

    public LogCapture Logs { get; } = new();

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(Limits)
    {
        ["RnnLm:Auth:Keys:0:Name"] = "reader",
        ["RnnLm:Auth:Keys:0:Key"] = ReadKey,
        ["RnnLm:Auth:Keys:0:Role"] = "read",
        ["RnnLm:Auth:Keys:1:Name"] = "trainer",
        ["RnnLm:Auth:Keys:1:KeySha256"] = ApiKeySecrets.HashHex(TrainKey).ToUpperInvariant(),
        ["RnnLm:Auth:Keys:1:Role"] = "train",
        ["RnnLm:Auth:Keys:2:Name"] = "boss",
        ["RnnLm:Auth:Keys:2:Key"] = AdminKey,
        ["RnnLm:Auth:Keys:2:Role"] = "admin",
    };

    /// <summary>Limit settings; all off here.</summary>
    protected virtual IReadOnlyDictionary<string, string> Limits => new Dictionary<string, string>
    {
        ["RnnLm:Limits:InferencePerMinute"] = "0",
        ["RnnLm:Limits:SubmissionsPerMinute"] = "0",
    };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureServices(s => s.AddSingleton<ILogEventSink>(Logs));
    }

    /// <summary>A client that sends <paramref name="key"/> as a bearer token (none when null).</summary>
    public HttpClient ClientWith(string? key)
    {
        var client = CreateClient();
        if (key is not null) client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return client;
    }
}

/// <summary>Every Serilog event of a host (Serilog reads sinks registered in the container).</summary>
public sealed class LogCapture : ILogEventSink
{
    private readonly ConcurrentQueue<LogEvent> _events = new();

    public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

    /// <summary>Each event's rendered message and its properties, one string per event.</summary>
    public IReadOnlyList<string> Lines =>
        _events.Select(e => e.RenderMessage() + " " + string.Join(" ", e.Properties.Select(p => $"{p.Key}={p.Value}")) + " " + e.Exception).ToList();
}
