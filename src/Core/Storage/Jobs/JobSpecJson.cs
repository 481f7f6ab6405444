using System.Text.Json;
using System.Text.Json.Serialization;
using RnnLmService.Core.Training;

namespace RnnLmService.Core.Storage.Jobs;

/// <summary>A job's <see cref="TrainingSpec"/> as stored in <c>training_jobs.spec_json</c> (camelCase, enums as strings).</summary>
public static class JobSpecJson
{
    /// <summary>Reads strictly: an unknown property or enum value is an error naming it.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static string Serialize(TrainingSpec spec) => JsonSerializer.Serialize(spec, Options);

    /// <summary>The stored spec; <see cref="InvalidSettingException"/> (field <c>spec</c>) when it cannot be read.</summary>
    public static TrainingSpec Deserialize(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<TrainingSpec>(json, Options) ?? new TrainingSpec();
        }
        catch (JsonException e)
        {
            throw new InvalidSettingException("spec", $"The job's stored hyperparameters cannot be read: {e.Message}");
        }
    }
}
