using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Microsoft.OpenApi;
using RnnLmService.Api.Contracts;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace RnnLmService.Api.Hosting;

/// <summary>
/// The OpenAPI document (<c>/swagger/v1/swagger.json</c>) and Swagger UI (<c>/swagger</c>). Summaries and
/// descriptions come from each endpoint's <c>WithSummary</c>/<c>WithDescription</c>; schema descriptions and
/// examples from the XML comments (<c>&lt;summary&gt;</c>, <c>&lt;example&gt;</c>) of the request and response types.
/// </summary>
public static class SwaggerExtensions
{
    /// <summary>Registers Swashbuckle with the project's XML comments.</summary>
    public static IServiceCollection AddRnnLmSwagger(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(o =>
        {
            o.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "RnnLmService",
                Version = "v1",
                Description = "Trains recurrent (LSTM, GRU or tanh RNN) language models on your text and serves them: next-word "
                    + "prediction, generation (optionally streamed as Server-Sent Events), scoring, and an "
                    + "OpenAI-compatible subset under /v1 (models, completions, chat completions) with vLLM's /tokenize and "
                    + "/detokenize. Errors are RFC 9457 problem+json naming the field, except on /v1, /tokenize and /detokenize "
                    + "where they use OpenAI's error shape.",
            });
            foreach (var xml in Directory.EnumerateFiles(AppContext.BaseDirectory, "RnnLmService.*.xml"))
                o.IncludeXmlComments(xml);
            o.SupportNonNullableReferenceTypes();
            o.SchemaFilter<FrameworkSchemaDocs>();
            o.OperationFilter<RawRequestBodyFilter>();
            o.SchemaFilter<JobSpecSchemaDocs>();
            o.OperationFilter<DocumentedBodyFilter>();
            OpenApiSecurityDocs.AddSchemes(o);
            o.MapType<StringOrList>(() => new OpenApiSchema
            {
                Description = "A string or a list of strings.",
                OneOf = [new OpenApiSchema { Type = JsonSchemaType.String }, new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } }],
                Example = "once upon a time",
            });
        });
        return services;
    }

    /// <summary>Serves the document and the UI at <c>/swagger</c>.</summary>
    public static IApplicationBuilder UseRnnLmSwagger(this IApplicationBuilder app)
    {
        app.UseSwagger();
        app.UseSwaggerUI(o =>
        {
            o.SwaggerEndpoint("/swagger/v1/swagger.json", "RnnLmService v1");
            o.DocumentTitle = "RnnLmService API";
            o.EnablePersistAuthorization(); // the key entered under "Authorize" survives a reload
        });
        return app;
    }
}

/// <summary>Descriptions and examples for framework types that carry no XML comments of ours.</summary>
internal sealed class FrameworkSchemaDocs : ISchemaFilter
{
    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is not OpenApiSchema s) return;
        if (context.Type == typeof(ProblemDetails) || context.Type == typeof(HttpValidationProblemDetails))
        {
            s.Description ??= "An RFC 9457 problem: status, title, the reason in detail, and errors naming each field at fault.";
            s.Example ??= new JsonObject
            {
                ["type"] = "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                ["title"] = "Bad Request",
                ["status"] = 400,
                ["detail"] = "topK must be between 1 and the vocabulary size (10000).",
                ["errors"] = new JsonObject { ["topK"] = new JsonArray("topK must be between 1 and the vocabulary size (10000).") },
                ["code"] = "invalid_value",
                ["correlationId"] = "4bf92f3577b34da6a3ce929d0e0e4736",
            };
            Describe(s, "type", "A URI identifying the problem type.", "https://tools.ietf.org/html/rfc9110#section-15.5.1");
            Describe(s, "title", "A short summary of the problem type.", "Bad Request");
            Describe(s, "status", "The HTTP status code.", 400);
            Describe(s, "detail", "What went wrong with this request.", "topK must be between 1 and the vocabulary size (10000).");
            Describe(s, "instance", "The request path.", "/api/models/starter/next-word");
            Describe(s, "errors", "Reasons per field.", new JsonObject { ["topK"] = new JsonArray("must be positive") });
        }
    }

    private static void Describe(OpenApiSchema schema, string property, string description, JsonNode example)
    {
        if (schema.Properties?.TryGetValue(property, out var p) == true && p is OpenApiSchema prop)
        {
            prop.Description ??= description;
            prop.Example ??= example;
        }
    }
}
