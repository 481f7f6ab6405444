using System.Text.Json;
using RnnLmService.Api.Contracts;
using RnnLmService.Api.Security;
using RnnLmService.Core.Storage.Keys;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Training;

namespace RnnLmService.Api.Endpoints;

/// <summary><c>/api/presets</c>: the named option sets a training job can start from.</summary>
public static class PresetsApi
{
    public static IEndpointRouteBuilder MapPresetsApi(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/presets").WithTags("Presets")
            .MapGet("/", () => TypedResults.Ok(TrainingPresets.All.Select(ToResponse).ToList()))
            .WithName("ListPresets").RequireApiRole(ApiKeyRoles.Read)
            .WithSummary("List training presets")
            .WithDescription("Each preset's settings (a job's own fields override them), the whole spec a job with only the preset gets, "
                + "and the figures it reached on the KJV benchmark corpus in bench/RESULTS.md (status 'not yet measured' when none).");
        return app;
    }

    private static PresetResponse ToResponse(TrainingPreset p)
    {
        var spec = TrainingPresets.Apply(p, []).Deserialize<TrainingSpec>(JobSpecJson.Options)!;
        spec = spec with { Training = spec.Training.Resolved() };
        return new PresetResponse
        {
            Name = p.Name,
            Description = p.Description,
            Settings = JsonSerializer.SerializeToElement(p.Settings),
            Spec = JsonSerializer.SerializeToElement(spec, JobSpecJson.Options),
            Results = new PresetFiguresResponse
            {
                Status = p.Figures.Status, TestPerplexity = p.Figures.TestPerplexity, Budget = p.Figures.Budget, Source = p.Figures.Source,
                Note = p.Figures.Note,
            },
        };
    }
}
