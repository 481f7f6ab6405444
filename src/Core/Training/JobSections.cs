using System.Text.Json.Nodes;

namespace RnnLmService.Core.Training;

/// <summary>
/// The sections of a training job's JSON (<c>tokenizer</c>, <c>model</c>, <c>training</c>) as presets and sweep points write
/// into them: property names matched case-insensitively, as the job JSON is read.
/// </summary>
internal static class JobSections
{
    /// <summary>The name <paramref name="o"/> spells <paramref name="name"/> with, or null.</summary>
    public static string? Key(JsonObject o, string name) =>
        o.Select(kv => kv.Key).FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The object <paramref name="job"/> holds under <paramref name="section"/>, created when absent or null; null when the job
    /// has something else there (a wrong type: reading the job will say so, so nothing is written into it).
    /// </summary>
    public static JsonObject? Section(JsonObject job, string section)
    {
        var key = Key(job, section);
        if (key is null || job[key] is null)
        {
            if (key is not null) job.Remove(key);
            var created = new JsonObject();
            job[section] = created;
            return created;
        }
        return job[key] as JsonObject;
    }
}
