using System.Text.RegularExpressions;
using Microsoft.Playwright;
using RnnLmService.Api.Models;

namespace RnnLmService.Api.Tests.Browser;

/// <summary>
/// The playground at <c>/</c> in headless Chromium against the real service and its starter model: every view
/// renders without a console error, typing shows bars, generation streams, reading colours every token, asking why
/// and the heat map show the model's numbers, and a job queued from the page trains and charts its progress.
/// A screenshot of each view is kept in .artifacts/screenshots.
/// </summary>
public sealed class PlaygroundBrowserTests(PlaygroundServer server) : IClassFixture<PlaygroundServer>, IAsyncLifetime
{
    private readonly List<string> errors = [];
    private IPage page = null!;

    public async Task InitializeAsync()
    {
        page = await server.NewPageAsync(errors);
        await page.GotoAsync("/");
        await Expect(page.Locator("#model")).ToHaveValueAsync("starter");
    }

    public async Task DisposeAsync()
    {
        await page.CloseAsync();
        Assert.True(errors.Count == 0, "browser errors:\n" + string.Join('\n', errors));
    }

    [Fact]
    public async Task Every_view_renders_without_console_errors()
    {
        foreach (var view in new[] { "explore", "generate", "read", "why", "neurons", "train", "models" })
        {
            await page.ClickAsync($"#tab-{view}");
            await Expect(page.Locator($"#view-{view}")).ToBeVisibleAsync();
            Assert.Equal(1, await page.Locator("[role=tabpanel]:visible").CountAsync());
        }
        // Keyboard: arrows move between tabs.
        await page.FocusAsync("#tab-models");
        await page.Keyboard.PressAsync("ArrowRight");
        await Expect(page.Locator("#view-explore")).ToBeVisibleAsync();
        await Expect(page.Locator("#tab-explore")).ToBeFocusedAsync();
        await Expect(page.Locator("#models-body tr")).Not.ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Typing_a_context_shows_next_word_bars_and_a_click_appends_the_word()
    {
        var context = page.Locator("#explore-context");
        await context.FillAsync("");
        await context.PressSequentiallyAsync("the little", new() { Delay = 30 });
        await Expect(page.Locator("#explore-bars[data-context='the little']")).ToHaveCountAsync(1);   // the bars of the whole context
        var words = page.Locator("#explore-bars .word");
        await Expect(words).ToHaveCountAsync(12);
        await Expect(page.Locator("#explore-stats")).ToContainTextAsync("entropy");
        Assert.Equal(12, await page.Locator("#explore-bars .bar").CountAsync());
        var first = await words.First.InnerTextAsync();
        await Screenshot("explore");

        await words.First.ClickAsync();
        await Expect(context).ToHaveValueAsync(first == "↵" ? "the little\n" : $"the little {first}");
        await Expect(page.Locator("#explore-stats")).ToContainTextAsync("entropy");
    }

    [Fact]
    public async Task A_generation_streams_token_by_token()
    {
        await page.ClickAsync("#tab-generate");
        await page.FillAsync("#gen-prompt", "the old");
        await page.FillAsync("#gen-max", "30");
        await page.FillAsync("#gen-seed", "3");
        // Count the separate appends to the output: a streamed answer arrives in several pieces.
        await page.EvaluateAsync("""
            () => {
              window.appends = 0;
              new MutationObserver((records) => { window.appends += records.length; })
                .observe(document.getElementById('gen-output'), { childList: true, subtree: true, characterData: true });
            }
            """);
        await page.ClickAsync("#gen-start");
        await Expect(page.Locator("#gen-status")).ToContainTextAsync("ended by", new() { Timeout = 60_000 });
        var generated = await page.Locator("#gen-output .generated").InnerTextAsync();
        Assert.False(string.IsNullOrWhiteSpace(generated));
        Assert.True(await page.EvaluateAsync<int>("() => window.appends") > 2, "the text should arrive in pieces");
        await Expect(page.Locator("#gen-stop")).ToBeDisabledAsync();
        await Screenshot("generate");

        // Stop: 512 tokens past line ends take the starter model about 2 s; Stop pressed as the first one shows aborts the read.
        await page.CheckAsync("#gen-ignore-eos");
        await page.FillAsync("#gen-max", "512");
        await page.EvaluateAsync("""
            () => {
              const output = document.getElementById('gen-output');
              const stopper = new MutationObserver(() => {
                if (output.querySelector('.generated')?.textContent) { stopper.disconnect(); document.getElementById('gen-stop').click(); }
              });
              stopper.observe(output, { childList: true, subtree: true, characterData: true });
            }
            """);
        await page.ClickAsync("#gen-start");
        await Expect(page.Locator("#gen-status")).ToContainTextAsync("Stopped after");
        var stoppedAt = await page.Locator("#gen-output .generated").InnerTextAsync();
        await Task.Delay(500);
        Assert.Equal(stoppedAt, await page.Locator("#gen-output .generated").InnerTextAsync());
        await Expect(page.Locator("#gen-start")).ToBeEnabledAsync();
    }

    [Fact]
    public async Task Reading_colours_every_token_and_compares_two_models()
    {
        await page.ClickAsync("#tab-read");
        await page.FillAsync("#read-text", "the old farmer ran to the house .\nthe little dog saw a zyzzyva .");
        await page.SelectOptionAsync("#read-second", "starter@1");
        await page.ClickAsync("#read-run");
        var panes = page.Locator("#read-panes .pane");
        await Expect(panes).ToHaveCountAsync(2);
        var tokens = panes.First.Locator(".token");
        Assert.Equal(16, await tokens.CountAsync());                // 8 words, <eos>, 7 words (no final line break)
        var colours = await tokens.EvaluateAllAsync<string[]>("spans => spans.map(s => getComputedStyle(s).backgroundColor)");
        Assert.All(colours, c => Assert.Matches(new Regex(@"^rgb\(\d+, \d+, \d+\)$"), c));
        Assert.True(colours.Distinct().Count() > 3, "surprisal should vary over the text");
        await Expect(panes.First.Locator("h3")).ToContainTextAsync("perplexity");

        await tokens.Nth(2).HoverAsync();
        await Expect(page.Locator("#tooltip")).ToBeVisibleAsync();
        await Expect(page.Locator("#tooltip")).ToContainTextAsync("surprisal");
        await Expect(page.Locator("#tooltip")).Not.ToContainTextAsync("null");
        await Screenshot("read");
    }

    [Fact]
    public async Task Why_shows_both_contributions_over_the_context_and_neighbours()
    {
        await page.ClickAsync("#tab-why");
        await page.FillAsync("#why-context", "the old farmer ran to the");
        await page.ClickAsync("#why-run");
        await Expect(page.Locator("#why-bars .attribution")).ToHaveCountAsync(2);
        Assert.Equal(6, await page.Locator("#why-bars .attribution[data-method=occlusion] .attr-cell").CountAsync());
        Assert.Equal(6, await page.Locator("#why-bars .attribution[data-method=gradientTimesInput] .attr-cell").CountAsync());
        await Expect(page.Locator("#why-summary")).ToContainTextAsync("predicts");
        Assert.True(await page.Locator("#why-bars .attr-bar").CountAsync() >= 6);

        await page.FillAsync("#nb-word", "farmer");
        await page.ClickAsync("#nb-run");
        await Expect(page.Locator("#nb-list li")).ToHaveCountAsync(8);
        await Screenshot("why");
    }

    [Fact]
    public async Task The_heat_map_shows_units_over_the_text()
    {
        await page.ClickAsync("#tab-neurons");
        await page.FillAsync("#nr-text", "the old farmer ran to the house .");
        await page.ClickAsync("#nr-run");
        await Expect(page.Locator("#nr-heatmap tbody tr")).ToHaveCountAsync(8);     // the 8 most varying units by default
        Assert.Equal(8 * 8, await page.Locator("#nr-heatmap td").CountAsync());
        await Expect(page.Locator("#nr-varying li")).ToHaveCountAsync(12);
        await Expect(page.Locator("#nr-gates .gate")).Not.ToHaveCountAsync(0);
        await Screenshot("neurons");

        await page.FillAsync("#nr-units", "0, 3");
        await page.ClickAsync("#nr-run");
        await Expect(page.Locator("#nr-heatmap tbody tr")).ToHaveCountAsync(2);
        await page.FillAsync("#nr-units", "9999");
        await page.ClickAsync("#nr-run");
        await Expect(page.Locator("#nr-error")).ToContainTextAsync("unit");
        errors.RemoveAll(e => e.Contains("400", StringComparison.Ordinal));   // the browser logs the 400 it was asked to show
    }

    [Fact]
    public async Task A_job_queued_from_the_page_trains_and_charts_its_progress()
    {
        var corpus = Path.Combine(Path.GetTempPath(), $"rnnlm-page-corpus-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(corpus, StarterCorpus.Generate(lines: 300, seed: 5));
        try
        {
            await page.ClickAsync("#tab-train");
            await page.SetInputFilesAsync("#train-file", corpus);
            await page.SelectOptionAsync("#train-preset", "tiny");
            await Expect(page.Locator("#tr-hiddenSize")).ToHaveValueAsync("16");
            await page.FillAsync("#tr-modelName", "pagejob");
            await page.FillAsync("#tr-epochs", "2");
            await page.ClickAsync("#train-queue");
            await Expect(page.Locator("#job-status")).ToHaveTextAsync("succeeded", new() { Timeout = 150_000 });
            Assert.True(await page.Locator("#job-chart circle.point").CountAsync() >= 2, "the chart should have points");
            await Expect(page.Locator("#job-test")).ToContainTextAsync("pagejob@1");
            await Expect(page.Locator("#jobs-body tr")).Not.ToHaveCountAsync(0);
            await Screenshot("train");

            await page.ClickAsync("#tab-models");
            var row = page.Locator("#models-body tr", new() { HasText = "pagejob@1" });
            await Expect(row).ToHaveCountAsync(1);
            await Screenshot("models");
            page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
            await row.Locator("button", new() { HasText = "Delete" }).ClickAsync();
            await Expect(page.Locator("#models-note")).ToContainTextAsync("Deleted pagejob@1");
            await Expect(page.Locator("#models-body tr", new() { HasText = "pagejob@1" })).ToHaveCountAsync(0);
        }
        finally
        {
            File.Delete(corpus);
        }
    }

    [Fact]
    public async Task An_api_key_goes_in_the_authorization_header_of_every_call_and_never_in_a_url()
    {
        await page.FillAsync("#api-key", "sk-test-123");
        await page.Locator("#api-key").DispatchEventAsync("change");
        Assert.Equal("sk-test-123", await page.EvaluateAsync<string>("() => sessionStorage.getItem('rnnlm.apiKey')"));
        // Every call from the moment the key is stored (a call already on its way when it was typed may go without it).
        var requests = new List<IRequest>();
        page.Request += (_, request) => { if (request.Url.Contains("/api/", StringComparison.Ordinal)) requests.Add(request); };

        await page.FillAsync("#explore-context", "the old");
        await Expect(page.Locator("#explore-bars[data-context='the old']")).ToHaveCountAsync(1);
        await page.ClickAsync("#tab-generate");
        await page.FillAsync("#gen-max", "5");
        await page.ClickAsync("#gen-start");
        await Expect(page.Locator("#gen-status")).ToContainTextAsync("ended by");

        Assert.Contains(requests, r => r.Url.EndsWith("/next-word", StringComparison.Ordinal));
        Assert.Contains(requests, r => r.Url.EndsWith("/generate", StringComparison.Ordinal));
        foreach (var request in requests)
        {
            Assert.Equal("Bearer sk-test-123", (await request.AllHeadersAsync())["authorization"]);
            Assert.DoesNotContain("sk-test-123", request.Url);
        }
        await page.EvaluateAsync("() => sessionStorage.clear()");
    }

    private Task Screenshot(string view) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(server.Screenshots, $"{view}.png"), FullPage = true });

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}
