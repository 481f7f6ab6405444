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

        foreach (var (method, path) in routes)
        {
            Assert.True(documented.TryGetValue(path, out var item), $"{method} {path} is not in the OpenAPI document");
            Assert.True(item.TryGetProperty(method, out var operation), $"{method} {path} is not in the OpenAPI document");
            Assert.False(string.IsNullOrWhiteSpace(operation.GetProperty("summary").GetString()), $"{method} {path} has no summary");
            Assert.False(string.IsNullOrWhiteSpace(operation.GetProperty("description").GetString()), $"{method} {path} has no description");
            var ok = operation.GetProperty("responses").EnumerateObject().FirstOrDefault(r => r.Name.StartsWith('2'));
            Assert.True(ok.Name is not null, $"{method} {path} documents no success response");
            if (ok.Name != "204")
                Assert.True(ok.Value.TryGetProperty("content", out _), $"{method} {path} documents no response body");
            if (method is "post" or "put" && operation.TryGetProperty("requestBody", out var body))
                Assert.True(body.GetProperty("content").EnumerateObject().First().Value.TryGetProperty("schema", out _), $"{method} {path} has no request schema");
        }
    }

    [Fact]
    public async Task Every_schema_has_a_description_and_every_plain_property_an_example()
    {
        using var client = factory.CreateClient();
        using var doc = JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json"));
        var schemas = doc.RootElement.GetProperty("components").GetProperty("schemas");
        Assert.Contains(schemas.EnumerateObject(), s => s.Name == "NextWordRequest");
        foreach (var schema in schemas.EnumerateObject())
        {
            Assert.True(schema.Value.TryGetProperty("description", out _), $"schema {schema.Name} has no description");
            if (!schema.Value.TryGetProperty("properties", out var properties)) continue;
            foreach (var property in properties.EnumerateObject())
            {
                var plain = !property.Value.TryGetProperty("$ref", out _) && !property.Value.TryGetProperty("allOf", out _) && !property.Value.TryGetProperty("oneOf", out _)
                    && !(property.Value.TryGetProperty("items", out var items) && items.TryGetProperty("$ref", out _));
                if (plain)
                    Assert.True(property.Value.TryGetProperty("example", out _), $"{schema.Name}.{property.Name} has no example");
                Assert.True(property.Value.TryGetProperty("description", out _) || !plain, $"{schema.Name}.{property.Name} has no description");
            }
        }
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
