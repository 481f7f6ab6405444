using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace RnnLmService.Api.Tests.Browser;

/// <summary>
/// The whole service on a real loopback Kestrel port (a browser cannot reach the in-memory test server), with the
/// starter model trained at start and the in-process worker on, plus one headless Debian chromium driven by
/// Playwright. Playwright never downloads a browser here: it is launched from <see cref="ChromiumPath"/>.
/// </summary>
public class PlaygroundServer : WebApplicationFactory<Program>, IAsyncLifetime
{
    /// <summary>Debian's chromium package (installed by scripts/prereqs.sh browser); RNNLM_CHROMIUM overrides it.</summary>
    public static readonly string ChromiumPath = Environment.GetEnvironmentVariable("RNNLM_CHROMIUM") ?? "/usr/bin/chromium";

    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), $"rnnlm-browser-tests-{Guid.NewGuid():N}");
    private IPlaywright? playwright;

    /// <summary>The service's base address, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>The shared headless browser.</summary>
    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where the screenshots go: <c>.artifacts/screenshots</c> at the repository root.</summary>
    public string Screenshots { get; } = ScreenshotDirectory();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("RnnLm:DataDirectory", dataDirectory);
        builder.UseSetting("RnnLm:StarterModel", "true");
        builder.UseSetting("RnnLm:Worker:Enabled", "true");
        builder.UseSetting("RnnLm:Worker:PollInterval", "00:00:00.100");
        builder.UseSetting("RnnLm:Worker:HeartbeatInterval", "00:00:00.200");
        builder.UseSetting("RnnLm:Worker:TorchThreads", "1");
        foreach (var (key, value) in Settings)
            builder.UseSetting(key, value);
    }

    /// <summary>Settings a derived server adds or overrides (keys, the starter model off).</summary>
    protected virtual IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>();

    /// <summary>What answers 200 once the server is ready: the starter model loaded, unless a derived server turns it off.</summary>
    protected virtual string ReadyPath => "/health/ready";

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(ChromiumPath), $"Chromium is missing at {ChromiumPath}: run scripts/prereqs.sh browser (make test does).");
        UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        Address = new Uri(addresses.First());
        await WaitUntilReadyAsync();

        // Generous waits: they only catch hangs, and the suite shares two cores with every other test class.
        Assertions.SetDefaultExpectTimeout(30_000);
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
    }

    /// <summary>A new page (1280 × 800, a laptop screen) whose console errors and uncaught exceptions are collected in <paramref name="errors"/>.</summary>
    public async Task<IPage> NewPageAsync(List<string> errors)
    {
        var page = await Browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = Address.ToString(), ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        page.Console += (_, message) => { if (message.Type == "error") errors.Add($"console: {message.Text}"); };
        page.PageError += (_, error) => errors.Add($"page error: {error}");
        page.SetDefaultTimeout(30_000);
        return page;
    }

    private async Task WaitUntilReadyAsync()
    {
        using var client = new HttpClient { BaseAddress = Address };
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);   // catches hangs only: the starter model trains in seconds
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if ((await client.GetAsync(ReadyPath)).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200);
        }
        throw new TimeoutException("the service did not become ready (starter model)");
    }

    private static string ScreenshotDirectory()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RnnLmService.sln"))) dir = dir.Parent;
        var path = Path.Combine(dir?.FullName ?? Path.GetTempPath(), ".artifacts", "screenshots");
        Directory.CreateDirectory(path);
        return path;
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        playwright?.Dispose();
        await base.DisposeAsync();
        try { Directory.Delete(dataDirectory, recursive: true); }
        catch (IOException) { }
    }
}
