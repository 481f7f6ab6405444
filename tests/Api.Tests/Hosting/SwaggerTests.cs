using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RnnLmService.Api.Tests.TestSupport;

namespace RnnLmService.Api.Tests.Hosting;

public partial class SwaggerTests(TinyModelFactory factory) : IClassFixture<TinyModelFactory>
{
    [Fact]
    public async Task The_document_lists_every_route_the_app_registers_with_summary_description_and_schemas()
    {
        using var client = factory.CreateClient();
        using var doc = JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json"));
        var paths = doc.RootElement.GetProperty("paths");
        var documented = paths.EnumerateObject().ToDictionary(p => Normalize(p.Name), p => p.Value);

        var routes = factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (Method: m.ToLowerInvariant(), Path: Normalize(e.RoutePattern.RawText!))))
            .Distinct().ToList();
        Assert.NotEmpty(routes);
        Assert.Contains(routes, r => r.Path == "/api/models/{model}/next-word");

        var missing = new List<string>();
        foreach (var (method, path) in routes)
        {
            if (!documented.TryGetValue(path, out var item) || !item.TryGetProperty(method, out var operation))
            {
                missing.Add($"{method} {path} is not in the OpenAPI document");
                continue;
            }
            if (!operation.TryGetProperty("summary", out var summary) || string.IsNullOrWhiteSpace(summary.GetString()))
                missing.Add($"{method} {path} has no summary");
            if (!operation.TryGetProperty("description", out var description) || string.IsNullOrWhiteSpace(description.GetString()))
                missing.Add($"{method} {path} has no description");
            var ok = operation.GetProperty("responses").EnumerateObject().FirstOrDefault(r => r.Name.StartsWith('2'));
            if (ok.Name is null)
                missing.Add($"{method} {path} documents no success response");
            else if (ok.Name is not ("201" or "202" or "204") && !ok.Value.TryGetProperty("content", out _))
                missing.Add($"{method} {path} documents no response body");
            if (method is "post" or "put" && operation.TryGetProperty("requestBody", out var body)
                && !body.GetProperty("content").EnumerateObject().First().Value.TryGetProperty("schema", out _))
                missing.Add($"{method} {path} has no request schema");
        }
        Assert.True(missing.Count == 0, string.Join("\n", missing));
    }

    [Fact]
    public async Task Import_declares_its_raw_tar_body_and_export_its_binary_answers()
    {
        using var client = factory.CreateClient();
        using var doc = JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json"));
        var paths = doc.RootElement.GetProperty("paths");
        var body = paths.GetProperty("/api/models/import").GetProperty("post").GetProperty("requestBody");
        Assert.True(body.GetProperty("required").GetBoolean());
        var content = body.GetProperty("content");
        Assert.Equal(["application/octet-stream", "application/x-tar"], content.EnumerateObject().Select(c => c.Name).Order());
        var schema = content.GetProperty("application/x-tar").GetProperty("schema");
        Assert.Equal(("string", "binary"), (schema.GetProperty("type").GetString(), schema.GetProperty("format").GetString()));
        var parameters = paths.GetProperty("/api/models/import").GetProperty("post").GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString());
        Assert.Equal(["name", "promote"], parameters.Order());

        var export = paths.GetProperty("/api/models/{model}/export").GetProperty("get");
        var answers = export.GetProperty("responses").GetProperty("200").GetProperty("content");
        Assert.Equal(["application/octet-stream", "application/x-tar"], answers.EnumerateObject().Select(c => c.Name).Order());
        Assert.Contains(export.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "format");
    }

    [Fact]
    public async Task Every_schema_has_a_description_and_every_plain_property_an_example()
    {
        using var client = factory.CreateClient();
        using var doc = JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json"));
        var schemas = doc.RootElement.GetProperty("components").GetProperty("schemas");
        Assert.Contains(schemas.EnumerateObject(), s => s.Name == "NextWordRequest");
        var missing = new List<string>();
        foreach (var schema in schemas.EnumerateObject())
        {
            if (!schema.Value.TryGetProperty("description", out _)) missing.Add($"schema {schema.Name} has no description");
            if (!schema.Value.TryGetProperty("properties", out var properties)) continue;
            foreach (var property in properties.EnumerateObject())
            {
                var plain = !property.Value.TryGetProperty("$ref", out _) && !property.Value.TryGetProperty("allOf", out _) && !property.Value.TryGetProperty("oneOf", out _)
                    && !(property.Value.TryGetProperty("items", out var items) && items.TryGetProperty("$ref", out _));
                if (plain && !property.Value.TryGetProperty("example", out _)) missing.Add($"{schema.Name}.{property.Name} has no example");
                if (plain && !property.Value.TryGetProperty("description", out _)) missing.Add($"{schema.Name}.{property.Name} has no description");
            }
        }
        Assert.True(missing.Count == 0, string.Join("\n", missing));
    }

    [Fact]
    public async Task Swagger_UI_is_served()
    {
        using var client = factory.CreateClient();
        var html = await client.GetStringAsync("/swagger/index.html");
        Assert.Contains("swagger-ui", html);
    }

    private static string Normalize(string pattern)
    {
        var path = "/" + ConstraintOrDefault().Replace(pattern, "{$1}").Trim('/');
        return path;
    }

    [GeneratedRegex(@"\{\*?([A-Za-z0-9_]+)(?::[^}]*)?\??\}")]
    private static partial Regex ConstraintOrDefault();
}
