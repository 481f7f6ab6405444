using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using RnnLmService.Core.Storage.Datasets;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace RnnLmService.Api.Hosting;

/// <summary>
/// The body an endpoint reads itself from the request (so the generator cannot see it): a JSON type, a multipart
/// form, or both. Documentation only: unlike <c>Accepts</c>, it does not make routing answer other media types with a
/// bare 415 before the endpoint's own problem.
/// </summary>
public sealed record DocumentedBody(Type? Json, bool Multipart, string? JsonExample);

/// <summary>Declares <see cref="DocumentedBody"/> on an endpoint.</summary>
public static class DocumentedBodyExtensions
{
    /// <summary>The endpoint reads <paramref name="json"/> as application/json (and a dataset form when <paramref name="multipart"/>).</summary>
    public static TBuilder WithDocumentedBody<TBuilder>(this TBuilder builder, Type? json, bool multipart = false, string? jsonExample = null)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new DocumentedBody(json, multipart, jsonExample));
}

/// <summary>Writes each <see cref="DocumentedBody"/> into the operation's requestBody.</summary>
internal sealed class DocumentedBodyFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var body = context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<DocumentedBody>().LastOrDefault();
        if (body is null) return;
        var content = new Dictionary<string, OpenApiMediaType>();
        if (body.Multipart)
            content["multipart/form-data"] = new OpenApiMediaType { Schema = DatasetForm() };
        if (body.Json is { } type)
            content["application/json"] = new OpenApiMediaType
            {
                Schema = context.SchemaGenerator.GenerateSchema(type, context.SchemaRepository),
                Example = body.JsonExample is null ? null : JsonNode.Parse(body.JsonExample),
            };
        operation.RequestBody = new OpenApiRequestBody { Required = true, Content = content };
    }

    /// <summary>The dataset upload form: one file, or three split files, and an optional name.</summary>
    private static OpenApiSchema DatasetForm()
    {
        static OpenApiSchema File(string description) => new() { Type = JsonSchemaType.String, Format = "binary", Description = description };
        return new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "Either 'file' (split at upload by line: last 10 % test, the 10 % before valid, the rest train) or all of "
                + "'train', 'valid' and 'test'. UTF-8 text; at most RnnLm:Serving:MaxUploadBytes in total.",
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["file"] = File($"The whole corpus, UTF-8 text. Its file name (at most {DatasetNames.MaxFileNameLength} characters) names the dataset when 'name' is absent."),
                ["train"] = File("The training split, UTF-8 text (with 'valid' and 'test', instead of 'file')."),
                ["valid"] = File("The validation split, UTF-8 text."),
                ["test"] = File("The test split, UTF-8 text."),
                ["name"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.String,
                    MaxLength = DatasetNames.MaxLength,
                    Description = $"The dataset's name (at most {DatasetNames.MaxLength} characters).",
                    Example = "tiny-shakespeare",
                },
            },
        };
    }
}
