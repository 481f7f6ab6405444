using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Clients;

/// <summary>
/// The service on a real loopback Kestrel port (the official clients speak real HTTP), closed by keys: a <c>read</c>
/// key the clients use and an <c>admin</c> key that loads the tiny model (<c>tiny@1</c>, promoted).
/// </summary>
public sealed class ClientServer : ApiFactory, IAsyncLifetime
{
    public const string ReadKey = "client-read-key-0123456789";
    private const string AdminKey = "client-admin-key-0123456789";

    /// <summary>The service's base address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri Address { get; private set; } = null!;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["RnnLm:Serving:MaxNewTokens"] = "64",
        ["RnnLm:Serving:MaxCompletions"] = "4",
        ["RnnLm:Auth:Keys:0:Name"] = "client",
        ["RnnLm:Auth:Keys:0:Key"] = ReadKey,
        ["RnnLm:Auth:Keys:0:Role"] = "read",
        ["RnnLm:Auth:Keys:1:Name"] = "admin",
        ["RnnLm:Auth:Keys:1:Key"] = AdminKey,
        ["RnnLm:Auth:Keys:1:Role"] = "admin",
        ["RnnLm:Limits:InferencePerMinute"] = "0",
    };

    public async Task InitializeAsync()
    {
        _ = TinyModel.Directory;
        UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        StartServer();
        Address = new Uri(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        await AddModelAsync("tiny", promote: true);
        using var admin = new HttpClient { BaseAddress = Address };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", AdminKey);
        (await admin.PostAsync("/api/models/tiny/load", null)).EnsureSuccessStatusCode();
    }

    Task IAsyncLifetime.DisposeAsync() => Task.CompletedTask;
}
