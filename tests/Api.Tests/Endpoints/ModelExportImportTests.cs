using System.Formats.Tar;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Tests.TestSupport;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Storage.Models;

namespace RnnLmService.Api.Tests.Endpoints;

/// <summary>GET /api/models/{model}/export and POST /api/models/import through HTTP, on the tiny trained model.</summary>
public class ModelExportImportTests(ExportImportFactory factory) : IClassFixture<ExportImportFactory>
{
    private const string Context = "the cat";
    private readonly HttpClient client = factory.CreateClient();

    [Fact]
    public async Task Export_delete_import_gives_identical_next_word_answers_as_the_next_version()
    {
        await factory.AddModelAsync("roundtrip");
        var before = await NextWordAsync("roundtrip");

        var export = await client.GetAsync("/api/models/roundtrip/export");
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        Assert.Equal(ModelArchive.MediaType, export.Content.Headers.ContentType?.MediaType);
        Assert.Equal("roundtrip-1.tar", export.Content.Headers.ContentDisposition?.FileNameStar ?? export.Content.Headers.ContentDisposition?.FileName);
        var archive = await export.Content.ReadAsByteArrayAsync();

        // model.json first, then every file of the directory, each listed with its hash.
        var members = TarFiles.Read(archive);
        Assert.Equal(ModelArtifacts.ManifestFile, members[0].Name);
        var manifest = JsonSerializer.Deserialize<ModelManifest>(members[0].Data, ModelManifest.JsonOptions)!;
        Assert.Equal(Directory.GetFiles(TinyModel.Directory).Select(Path.GetFileName).Where(f => f != ModelArtifacts.ManifestFile).Order(),
            members.Skip(1).Select(m => m.Name).Order());
        foreach (var (name, data) in members.Skip(1))
            Assert.Equal(manifest.Files![name], Convert.ToHexStringLower(SHA256.HashData(data)));

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/models/roundtrip")).StatusCode);
        await InferenceApiTests.AssertProblem(await client.PostJsonAsync("/api/models/roundtrip/next-word", new { context = Context }), HttpStatusCode.NotFound, "model");

        var imported = await ImportAsync(archive, "?name=roundtrip");
        Assert.Equal("roundtrip", imported.Model.Name);
        Assert.Equal("tiny@1", imported.ImportedFrom);   // the name in the archive's manifest (the template model)
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(archive)), imported.ArchiveSha256);
        var after = await NextWordAsync("roundtrip");
        Assert.Equal(before.Words.Select(w => (w.Word, w.Probability)), after.Words.Select(w => (w.Word, w.Probability)));
        Assert.Equal(before.Entropy, after.Entropy);

        // The version's own model.json names it and records the import.
        var directory = Path.Combine(factory.DataDirectory, "models", "roundtrip", imported.Model.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var stored = ModelArtifacts.ReadManifest(directory);
        Assert.Equal(("roundtrip", imported.Model.Version), (stored.Name, stored.Version));
        Assert.Equal("tiny@1", stored.Origin?.Source);
        Assert.Equal(imported.ArchiveSha256, stored.Origin?.ArchiveSha256);

        // Another import of the same archive is the name's next version, numbered by the store like a trained one.
        var again = await ImportAsync(archive, "?name=roundtrip");
        Assert.Equal(imported.Model.Version + 1, again.Model.Version);
        var versions = await factory.Services.GetRequiredService<ModelVersionStore>().ListAsync("roundtrip");
        Assert.Equal([again.Model.Version, imported.Model.Version], versions.Select(v => v.Version));
    }

    [Fact]
    public async Task Import_without_a_name_uses_the_name_in_the_archive_and_promote_makes_it_the_default()
    {
        await factory.AddModelAsync("other");
        (await client.PutAsync("/api/models/other/default", null)).EnsureSuccessStatusCode();
        try
        {
            var archive = await client.GetByteArrayAsync("/api/models/tiny/export");
            var imported = await ImportAsync(archive, "?promote=true");
            Assert.Equal("tiny", imported.Model.Name);
            Assert.True(imported.Model.Version >= 2);
            Assert.True(imported.Model.Promoted);
            var list = await InferenceApiTests.Ok<ModelListResponse>(await client.GetAsync("/api/models"));
            Assert.Equal("tiny", list.DefaultModel);
            Assert.Equal(imported.Model.Version, list.Models.Single(m => m.Name == "tiny").ResolvesTo);
            Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/models/{imported.Model.Id}")).StatusCode);
        }
        finally
        {
            (await client.PutAsync("/api/models/tiny@1/default", null)).EnsureSuccessStatusCode();
        }
    }

    public static TheoryData<string, string> BadArchives => new()
    {
        { "wrong-hash", "weights.bin" },
        { "parent-path", "'..'" },
        { "absolute-path", "absolute path" },
        { "oversize-member", "MaxImportBytes" },
        { "symbolic-link", "symbolic link" },
        { "hard-link", "hard link" },
        { "duplicate-member", "twice" },
        { "unexpected-member", "unexpected member" },
        { "missing-member", "does not contain" },
        { "not-a-tar", "tar archive" },
    };

    [Theory]
    [MemberData(nameof(BadArchives))]
    public async Task A_bad_archive_is_a_400_naming_the_problem_and_writes_nothing(string kind, string reason)
    {
        var good = TarFiles.Read(await client.GetByteArrayAsync("/api/models/tiny/export"));
        var bad = kind switch
        {
            "wrong-hash" => TarFiles.Write(good.Select(m => m.Name == "weights.bin" ? (m.Name, Flip(m.Data)) : m)),
            "parent-path" => TarFiles.Write(good.Append(("../x", "escape"u8.ToArray()))),
            "absolute-path" => TarFiles.Write(good.Append(("/etc/x", "escape"u8.ToArray()))),
            "oversize-member" => TarFiles.Write(good.Prepend(("big.bin", new byte[ExportImportFactory.ImportLimit + 1]))),
            "symbolic-link" => TarFiles.Write(good, new PaxTarEntry(TarEntryType.SymbolicLink, "vocab2.json") { LinkName = "/etc/passwd" }),
            "hard-link" => TarFiles.Write(good, new PaxTarEntry(TarEntryType.HardLink, "vocab2.json") { LinkName = "../../rnnlm.db" }),
            "duplicate-member" => TarFiles.Write(good.Append(good.Single(m => m.Name == "vocab.json"))),
            "unexpected-member" => TarFiles.Write(good.Append(("notes.txt", "hello"u8.ToArray()))),
            "missing-member" => TarFiles.Write(good.Where(m => m.Name != "vocab.json")),
            "not-a-tar" => "this is not an archive, just some text that is long enough to fill a header block"u8.ToArray().Concat(new byte[600]).ToArray(),
            _ => throw new ArgumentException(kind),
        };
        var before = Snapshot();

        var response = await client.PostAsync("/api/models/import?name=bad", Body(bad));

        var problem = await Api.AssertProblemAsync(response, 400, "archive");
        Assert.Equal("invalid_archive", problem.GetProperty("code").GetString());
        Assert.True(problem.GetProperty("detail").GetString()!.Contains(reason, StringComparison.Ordinal), problem.GetProperty("detail").GetString());
        Assert.Equal(before, Snapshot());
        Assert.Empty(await factory.Services.GetRequiredService<ModelVersionStore>().ListAsync("bad"));
        Assert.False(File.Exists("/etc/x") && File.ReadAllText("/etc/x") == "escape");
    }

    [Fact]
    public async Task Import_checks_the_media_type_and_the_name_and_export_checks_the_format()
    {
        var archive = await client.GetByteArrayAsync("/api/models/tiny/export");
        var json = new ByteArrayContent(archive);
        json.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        await Api.AssertProblemAsync(await client.PostAsync("/api/models/import", json), 415, "body");
        await Api.AssertProblemAsync(await client.PostAsync("/api/models/import?name=../evil", Body(archive)), 400, "name");
        await Api.AssertProblemAsync(await client.GetAsync("/api/models/tiny/export?format=onnx"), 400, "format");
        await Api.AssertProblemAsync(await client.GetAsync("/api/models/nope/export"), 404, "model");
    }

    [Fact]
    public async Task A_model_whose_files_no_longer_match_model_json_is_not_exported()
    {
        var record = await factory.AddModelAsync("damaged");
        var weights = Path.Combine(factory.DataDirectory, record.ArtifactPath, "weights.bin");
        await File.WriteAllBytesAsync(weights, Flip(await File.ReadAllBytesAsync(weights)));
        var response = await client.GetAsync("/api/models/damaged/export");
        var problem = await Api.AssertProblemAsync(response, 422, "model");
        Assert.Contains("weights.bin", problem.GetProperty("detail").GetString());
        Assert.DoesNotContain(factory.DataDirectory, problem.GetProperty("detail").GetString());
    }

    private async Task<NextWordResponse> NextWordAsync(string model)
    {
        var vocabularySize = ModelArtifacts.ReadManifest(TinyModel.Directory).VocabularySize;
        return await InferenceApiTests.Ok<NextWordResponse>(
            await client.PostJsonAsync($"/api/models/{model}/next-word", new { context = Context, topK = vocabularySize }));
    }

    private async Task<ModelImportResponse> ImportAsync(byte[] archive, string query)
    {
        var response = await client.PostAsync($"/api/models/import{query}", Body(archive));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode}: {text}");
        var imported = JsonSerializer.Deserialize<ModelImportResponse>(text, JsonSerializerOptions.Web)!;
        Assert.Equal($"/api/models/{imported.Model.Id}", response.Headers.Location?.OriginalString);
        return imported;
    }

    private static ByteArrayContent Body(byte[] archive)
    {
        var content = new ByteArrayContent(archive);
        content.Headers.ContentType = new MediaTypeHeaderValue(ModelArchive.MediaType);
        return content;
    }

    private static byte[] Flip(byte[] data)
    {
        var copy = data.ToArray();
        copy[copy.Length / 2] ^= 0xFF;
        return copy;
    }

    /// <summary>Every file and directory under the data directory with its size, but the SQLite files (checked through the store).</summary>
    private List<string> Snapshot() =>
        Directory.EnumerateFileSystemEntries(factory.DataDirectory, "*", SearchOption.AllDirectories)
            .Where(p => !Path.GetFileName(p).StartsWith("rnnlm.db", StringComparison.Ordinal))
            .Select(p => $"{Path.GetRelativePath(factory.DataDirectory, p)} {(File.Exists(p) ? new FileInfo(p).Length : -1)}")
            .Order(StringComparer.Ordinal)
            .ToList();
}
