using System.ClientModel;
using OpenAI;
using OpenAI.Chat;
using RnnLmService.Api.Tests.TestSupport;
using Xunit.Abstractions;

namespace RnnLmService.Api.Tests.Clients;

/// <summary>
/// OpenAI's official client libraries, unmodified, against the service with an API key: JavaScript (npm <c>openai</c>,
/// installed by <c>scripts/prereqs.sh node</c>) for models, completions, streaming, echo with logprobs and chat; .NET
/// (NuGet <c>OpenAI</c>, whose completions client is not public) for chat and models.
/// </summary>
public sealed class OfficialClientTests(ClientServer server, ITestOutputHelper output) : IClassFixture<ClientServer>
{
    private OpenAIClient Client(string key) => new(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(server.Address, "v1") });

    [Fact]
    public async Task The_JavaScript_client_passes_completions_streaming_echo_logprobs_and_chat()
    {
        var directory = Path.Combine(RepositoryRoot(), "tests", "Api.Tests", "Clients", "js");
        Assert.True(Directory.Exists(Path.Combine(directory, "node_modules", "openai")),
            $"npm package openai missing in {directory}: run scripts/prereqs.sh node (make test does).");
        var run = await ProcessRunner.RunAsync("node", ["check.mjs", new Uri(server.Address, "v1").ToString(), "tiny"], directory,
            new Dictionary<string, string?> { ["RNNLM_API_KEY"] = ClientServer.ReadKey }, TimeSpan.FromMinutes(3));
        output.WriteLine(run.StdOut);
        Assert.True(run.ExitCode == 0, $"node check.mjs failed ({run.ExitCode}):\n{run.StdOut}\n{run.StdErr}");
        Assert.Contains("\"unauthorized\":\"invalid_api_key\"", run.StdOut);
    }

    [Fact]
    public async Task The_dotnet_client_lists_and_gets_models()
    {
        var models = Client(ClientServer.ReadKey).GetOpenAIModelClient();
        var list = (await models.GetModelsAsync()).Value;
        Assert.Contains(list, m => m.Id == "tiny@1");
        var one = (await models.GetModelAsync("tiny@1")).Value;
        Assert.Equal("tiny@1", one.Id);
        Assert.Equal("rnnlm-service", one.OwnedBy);
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => models.GetModelAsync("nope"));
        Assert.Equal(404, missing.Status);
    }

    [Fact]
    public async Task The_dotnet_client_chats_whole_and_streamed_with_logprobs()
    {
        var chat = Client(ClientServer.ReadKey).GetChatClient("tiny");
        ChatMessage[] messages = [new SystemChatMessage("the cat slept on the mat ."), new UserChatMessage("the old dog")];
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 8, Temperature = 0, IncludeLogProbabilities = true, TopLogProbabilityCount = 2 };
        ChatCompletion whole = (await chat.CompleteChatAsync(messages, options)).Value;
        Assert.Equal(ChatMessageRole.Assistant, whole.Role);
        Assert.Contains(whole.FinishReason, new[] { ChatFinishReason.Stop, ChatFinishReason.Length });
        var text = whole.Content[0].Text;
        Assert.False(string.IsNullOrWhiteSpace(text));
        Assert.Equal(whole.Usage.OutputTokenCount, whole.ContentTokenLogProbabilities.Count);
        Assert.All(whole.ContentTokenLogProbabilities, t => Assert.Equal(2, t.TopLogProbabilities.Count));
        // The tokens spell the reply exactly: an end of line that stopped it is said by the finish reason, not sent as a token.
        Assert.Equal(text, string.Concat(whole.ContentTokenLogProbabilities.Select(t => t.Token)));
        Assert.All(whole.ContentTokenLogProbabilities, t => Assert.False(string.IsNullOrEmpty(t.Token) || t.Token == "<eos>"));

        var streamed = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in chat.CompleteChatStreamingAsync(messages, new ChatCompletionOptions { MaxOutputTokenCount = 8, Temperature = 0 }))
        {
            foreach (var part in update.ContentUpdate) streamed.Append(part.Text);
            finish ??= update.FinishReason;
        }
        Assert.Equal(text, streamed.ToString());
        Assert.Equal(whole.FinishReason, finish);

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Client("not-a-key-0123456789").GetChatClient("tiny").CompleteChatAsync(messages, options));
        Assert.Equal(401, refused.Status);
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RnnLmService.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("RnnLmService.sln not found above the test binaries");
    }
}
