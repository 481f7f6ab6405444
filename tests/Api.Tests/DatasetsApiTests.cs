using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace RnnLmService.Api.Tests;

public sealed class DatasetsApiTests(QueueOnlyFactory factory) : IClassFixture<QueueOnlyFactory>
{
    private readonly HttpClient _client = factory.CreateClient();

    private static MultipartFormDataContent Form(params (string Field, byte[] Bytes)[] files)
    {
        var form = new MultipartFormDataContent();
        foreach (var (field, bytes) in files)
        {
            var part = new ByteArrayContent(bytes);
            part.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            form.Add(part, field, $"{field}.txt");
        }
        return form;
    }

    [Fact]
    public async Task A_multipart_file_is_streamed_counted_hashed_and_split()
    {
        var text = "héllo wörld 🙂\nthe cat sat on the mat\n\nline four here\nline five\n";
        var bytes = Encoding.UTF8.GetBytes(text);
        var form = Form(("file", bytes));
        form.Add(new StringContent("greetings"), "name");
        var response = await _client.PostAsync("/api/datasets", form);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var d = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal($"/api/datasets/{d.GetProperty("id").GetString()}", response.Headers.Location?.OriginalString);
        Assert.Equal("greetings", d.GetProperty("name").GetString());
        Assert.Equal("derived", d.GetProperty("splitKind").GetString());
        Assert.Equal(5, d.GetProperty("lines").GetInt64());
        Assert.Equal(text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length, d.GetProperty("words").GetInt64());
        Assert.Equal(text.EnumerateRunes().Count(), d.GetProperty("characters").GetInt64());
        Assert.Equal(bytes.Length, d.GetProperty("bytes").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), d.GetProperty("sha256").GetString());
        Assert.Equal(3, d.GetProperty("splits").GetProperty("train").GetProperty("lines").GetInt64());

        var got = await _client.GetFromJsonAsync<JsonElement>($"/api/datasets/{d.GetProperty("id").GetString()}");
        Assert.Equal(d.GetProperty("sha256").GetString(), got.GetProperty("sha256").GetString());
        var list = await _client.GetFromJsonAsync<JsonElement>("/api/datasets");
        Assert.Contains(list.GetProperty("items").EnumerateArray(), x => x.GetProperty("id").GetString() == d.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Train_valid_and_test_files_are_kept_as_given()
    {
        var response = await _client.PostAsync("/api/datasets", Form(
            ("train", "a b c\nd e f\n"u8.ToArray()), ("valid", "g h\n"u8.ToArray()), ("test", "i j\n"u8.ToArray())));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var d = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("given", d.GetProperty("splitKind").GetString());
        Assert.Equal(10, d.GetProperty("words").GetInt64());
        Assert.Equal("train", d.GetProperty("name").GetString()); // from the first file's name
    }

    [Theory]
    [InlineData("empty")]
    [InlineData("whitespace")]
    [InlineData("latin1")]
    public async Task Empty_whitespace_only_and_non_utf8_uploads_are_400_naming_the_field(string kind)
    {
        byte[] bytes = kind switch
        {
            "empty" => [],
            "whitespace" => "  \n\t \n"u8.ToArray(),
            _ => Encoding.Latin1.GetBytes("caf\u00e9 cr\u00e8me\nna\u00efve\n"),
        };
        await Api.AssertProblemAsync(await _client.PostAsync("/api/datasets", Form(("file", bytes))), 400, "file");
    }

    [Fact]
    public async Task Bad_json_and_fields_are_400_and_unknown_media_is_415()
    {
        await Api.AssertProblemAsync(await _client.PostAsJsonAsync("/api/datasets", new { name = "x", text = "   " }), 400, "text");
        await Api.AssertProblemAsync(await _client.PostAsJsonAsync("/api/datasets", new { name = "x" }), 400, "text");
        await Api.AssertProblemAsync(await _client.PostAsync("/api/datasets", Form(("corpus", "a b\n"u8.ToArray()))), 400, "corpus");
        await Api.AssertProblemAsync(await _client.PostAsync("/api/datasets", Form(("train", "a b\n"u8.ToArray()))), 400, "valid");
        await Api.AssertProblemAsync(await _client.PostAsync("/api/datasets", new StringContent("a b c", Encoding.UTF8, "text/plain")), 415);
    }

    [Fact]
    public async Task An_upload_over_the_limit_is_413()
    {
        var big = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("many words on a line\n", 400))); // > 4096 bytes
        await Api.AssertProblemAsync(await _client.PostAsync("/api/datasets", Form(("file", big))), 413);
        var json = await _client.PostAsJsonAsync("/api/datasets", new { name = "big", text = Encoding.UTF8.GetString(big) });
        await Api.AssertProblemAsync(json, 413);
    }

    [Fact]
    public async Task Get_and_delete_of_an_unknown_dataset_are_404_and_delete_in_use_is_409()
    {
        await Api.AssertProblemAsync(await _client.GetAsync("/api/datasets/nope"), 404);
        await Api.AssertProblemAsync(await _client.DeleteAsync("/api/datasets/nope"), 404);

        var d = await Api.UploadTextAsync(_client, "one two three\nfour five six\nseven eight\nnine ten\n");
        var id = d.GetProperty("id").GetString();
        var job = await _client.PostAsJsonAsync("/api/training-jobs", Api.Job(id!, "uses-it", batchSize: 1));
        Assert.Equal(HttpStatusCode.Accepted, job.StatusCode);
        await Api.AssertProblemAsync(await _client.DeleteAsync($"/api/datasets/{id}"), 409);

        var jobId = (await job.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.Accepted, (await _client.PostAsync($"/api/training-jobs/{jobId}/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync($"/api/datasets/{id}")).StatusCode);
        await Api.AssertProblemAsync(await _client.GetAsync($"/api/datasets/{id}"), 404);
    }
}

/// <summary>A multipart upload above the JSON body limit (1 MB) but under the upload limit goes through, streamed.</summary>
public sealed class LargeDatasetUploadTests(ServiceFactory factory) : IClassFixture<ServiceFactory>
{
    [Fact]
    public async Task A_three_megabyte_file_uploads_under_the_upload_limit()
    {
        var line = "the quick brown fox jumps over the lazy dog again and again\n";
        var bytes = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(line, 3 * 1024 * 1024 / line.Length)));
        var form = new MultipartFormDataContent { { new ByteArrayContent(bytes), "file", "big.txt" } };
        var response = await factory.CreateClient().PostAsync("/api/datasets", form);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var d = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(bytes.Length, d.GetProperty("bytes").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), d.GetProperty("sha256").GetString());
    }
}
