using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using RnnLmService.Core.Modeling;
using RnnLmService.Core.Storage.Jobs;
using RnnLmService.Core.Storage.Models;
using RnnLmService.Core.Text;
using RnnLmService.Core.Training;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace RnnLmService.Api.Hosting;

/// <summary>
/// The training job spec in the document as the API reads it: enums as their camelCase names (the job JSON's
/// converter), each setting's default taken from a fresh options object, and each numeric range the options'
/// <c>Validate</c> enforces (<see cref="Ranges"/>; a test checks the two agree).
/// </summary>
internal sealed class JobSpecSchemaDocs : ISchemaFilter
{
    /// <summary>Inclusive ranges, except where <c>ExclusiveMin</c>/<c>ExclusiveMax</c> say otherwise.</summary>
    internal static readonly Dictionary<(Type Type, string Property), (double Min, double Max, bool ExclusiveMin, bool ExclusiveMax)> Ranges = new()
    {
        [(typeof(TrainingOptions), nameof(TrainingOptions.LearningRate))] = (0, 1000, true, false),
        [(typeof(TrainingOptions), nameof(TrainingOptions.AnnealFactor))] = (1, 1000, false, false),
        [(typeof(TrainingOptions), nameof(TrainingOptions.Clip))] = (0, 1000, false, false),
        [(typeof(TrainingOptions), nameof(TrainingOptions.WeightDecay))] = (0, 1, false, false),
        [(typeof(TrainingOptions), nameof(TrainingOptions.Epochs))] = (1, 1000, false, false),
        [(typeof(TrainingOptions), nameof(TrainingOptions.BatchSize))] = (1, 4096, false, false),
        [(typeof(TrainingOptions), nameof(TrainingOptions.EvalBatchSize))] = (1, 4096, false, false),
        [(typeof(TrainingOptions), nameof(TrainingOptions.Bptt))] = (1, 10000, false, false),
        [(typeof(TrainingOptions), nameof(TrainingOptions.Patience))] = (0, 1000, false, false),
        [(typeof(TrainingOptions), nameof(TrainingOptions.WarmupSteps))] = (0, 10_000_000, false, false),
        [(typeof(TrainingOptions), nameof(TrainingOptions.MinLearningRateFraction))] = (0, 1, false, false),
        [(typeof(TrainingOptions), nameof(TrainingOptions.GradientAccumulation))] = (1, 64, false, false),
        [(typeof(TrainingOptions), nameof(TrainingOptions.MaxSteps))] = (1, 1_000_000_000, false, false),
        [(typeof(TrainingOptions), nameof(TrainingOptions.MaxMinutes))] = (0, 100_000, true, false),
        [(typeof(TrainingOptions), nameof(TrainingOptions.ActivationRegularization))] = (0, 100, false, false),
        [(typeof(TrainingOptions), nameof(TrainingOptions.TemporalActivationRegularization))] = (0, 100, false, false),
        [(typeof(TrainingOptions), nameof(TrainingOptions.NonmonoInterval))] = (0, 1000, false, false),
        [(typeof(ModelOptions), nameof(ModelOptions.EmbeddingSize))] = (1, 4096, false, false),
        [(typeof(ModelOptions), nameof(ModelOptions.HiddenSize))] = (1, 8192, false, false),
        [(typeof(ModelOptions), nameof(ModelOptions.Layers))] = (1, 16, false, false),
        [(typeof(ModelOptions), nameof(ModelOptions.Dropout))] = (0, 1, false, true),
        [(typeof(ModelOptions), nameof(ModelOptions.WeightDrop))] = (0, 1, false, true),
        [(typeof(ModelOptions), nameof(ModelOptions.EmbeddingDropout))] = (0, 1, false, true),
        [(typeof(ModelOptions), nameof(ModelOptions.InputDropout))] = (0, 1, false, true),
        [(typeof(ModelOptions), nameof(ModelOptions.HiddenDropout))] = (0, 1, false, true),
        [(typeof(ModelOptions), nameof(ModelOptions.OutputDropout))] = (0, 1, false, true),
        [(typeof(ModelOptions), nameof(ModelOptions.AdaptiveSoftmaxDivValue))] = (1, 1000, false, false),
        [(typeof(TokenizerOptions), nameof(TokenizerOptions.MaxVocabularySize))] = (TokenizerOptions.MinVocabularySize, TokenizerOptions.MaxLimit, false, false),
        [(typeof(TokenizerOptions), nameof(TokenizerOptions.MinCount))] = (1, TokenizerOptions.MaxLimit, false, false),
        [(typeof(TokenizerOptions), nameof(TokenizerOptions.VocabularySize))] = (TokenizerOptions.MinBpeVocabularySize, TokenizerOptions.MaxLimit, false, false),
    };

    private static readonly Type[] SpecTypes = [typeof(TrainingOptions), typeof(ModelOptions), typeof(TokenizerOptions)];

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is not OpenApiSchema s) return;
        var type = context.Type;
        if (type.IsEnum && type.Assembly == typeof(TrainingOptions).Assembly)
        {
            s.Type = JsonSchemaType.String;
            s.Format = null;
            s.Enum = Enum.GetNames(type).Select(n => (JsonNode)JsonValue.Create(JsonNamingPolicy.CamelCase.ConvertName(n))).ToList();
            return;
        }
        if (context.MemberInfo is PropertyInfo { Name: "ModelName" } && context.MemberInfo.DeclaringType?.Name == "CreateTrainingJobRequest")
        {
            s.Pattern = ModelNames.Pattern;
            s.MaxLength = ModelNames.MaxLength;
            return;
        }
        if (context.MemberInfo is PropertyInfo { Name: "Name" } && context.MemberInfo.DeclaringType?.Name == "CreateSweepRequest")
        {
            s.Pattern = ModelNames.Pattern;   // its models are named {name}-{point}
            return;
        }
        if (context.MemberInfo is PropertyInfo { Name: "Init" } && context.MemberInfo.DeclaringType?.Name == "CreateTrainingJobRequest")
        {
            s.Pattern = ModelNames.AddressPattern;
            s.MaxLength = ModelNames.MaxLength + 11;   // '@' and a 10-digit version
            return;
        }
        if (!SpecTypes.Contains(type) || s.Properties is null) return;
        var defaults = JsonSerializer.SerializeToNode(Activator.CreateInstance(type), type, JobSpecJson.Options)!.AsObject();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var name = JsonNamingPolicy.CamelCase.ConvertName(property.Name);
            if (!s.Properties.TryGetValue(name, out var p) || p is not OpenApiSchema prop) continue;
            if (defaults[name] is { } value) prop.Default = value.DeepClone();
            prop.Example ??= prop.Default?.DeepClone();
            if (Ranges.TryGetValue((type, property.Name), out var range))
            {
                var (min, max) = (range.Min.ToString(CultureInfo.InvariantCulture), range.Max.ToString(CultureInfo.InvariantCulture));
                if (range.ExclusiveMin) prop.ExclusiveMinimum = min; else prop.Minimum = min;
                if (range.ExclusiveMax) prop.ExclusiveMaximum = max; else prop.Maximum = max;
            }
            if (property.PropertyType == typeof(IntList)) DescribeCutoffs(prop);
        }
    }

    /// <summary><c>adaptiveSoftmaxCutoffs</c>: null (full softmax) or at most 16 strictly increasing ids, the first at least 2 (ModelOptions.Validate).</summary>
    private static void DescribeCutoffs(OpenApiSchema prop)
    {
        prop.Type = JsonSchemaType.Array | JsonSchemaType.Null;
        prop.MaxItems = ModelOptions.MaxAdaptiveSoftmaxCutoffs;
        prop.Items = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "2" };
        prop.Example = new JsonArray(2000, 10000);
    }
}
