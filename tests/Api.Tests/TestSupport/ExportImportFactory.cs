using System.Formats.Tar;
using Microsoft.Extensions.DependencyInjection;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Database;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;

namespace RnnLmService.Api.Tests.TestSupport;

/// <summary>
/// The app with the tiny model as <c>tiny@1</c> and a 1 MB import limit (the tiny model's archive is far below it, so a
/// member of limit + 1 bytes fits the request but not the limit).
/// </summary>
public sealed class ExportImportFactory : ApiFactory, IAsyncLifetime
{
    public const long ImportLimit = 1 << 20;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["RnnLm:Serving:MaxImportBytes"] = ImportLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public async Task InitializeAsync()
    {
        _ = TinyModel.Directory;
        _ = Server;
        await AddModelAsync("tiny", promote: true);
    }

    Task IAsyncLifetime.DisposeAsync() => Task.CompletedTask;

    /// <summary>
    /// Registers an untrained model of another architecture (random initial weights, the tiny model's vocabulary) as the
    /// next version of <paramref name="name"/>.
    /// </summary>
    public Task<ModelVersionRecord> AddUntrainedModelAsync(string name, ModelOptions architecture)
    {
        var store = Services.GetRequiredService<ModelVersionStore>();
        var tiny = ModelArtifacts.ReadManifest(TinyModel.Directory);
        var vocabulary = Vocabulary.Load(Path.Combine(TinyModel.Directory, tiny.VocabularyFile));
        return store.RegisterAsync(name, "{}", null, promote: false, version =>
        {
            var relative = Path.Combine("models", name, version.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var model = new RnnLanguageModel(vocabulary.Count, architecture);
            var manifest = new ModelManifest
            {
                Name = name,
                Version = version,
                Architecture = architecture,
                Tokenizer = tiny.Tokenizer,
                Training = new TrainingOptions(),
                Metrics = new TrainingMetrics(),
            };
            ModelArtifacts.Save(Path.Combine(DataDirectory, relative), manifest, model, vocabulary);
            return relative;
        });
    }
}

/// <summary>Reads and writes tar archives in memory, to take an export apart and build altered ones.</summary>
internal static class TarFiles
{
    public static List<(string Name, byte[] Data)> Read(byte[] archive)
    {
        var members = new List<(string, byte[])>();
        using var reader = new TarReader(new MemoryStream(archive));
        while (reader.GetNextEntry() is { } entry)
        {
            using var data = new MemoryStream();
            entry.DataStream?.CopyTo(data);
            members.Add((entry.Name, data.ToArray()));
        }
        return members;
    }

    /// <summary>A PAX archive of regular files, plus any extra entries (links) as given.</summary>
    public static byte[] Write(IEnumerable<(string Name, byte[] Data)> members, params TarEntry[] extra)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, data) in members)
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
            foreach (var entry in extra) writer.WriteEntry(entry);
        }
        return buffer.ToArray();
    }
}
