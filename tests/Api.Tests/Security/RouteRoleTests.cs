using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RnnLmService.Api.Security;
using RnnLmService.Core.Storage.Keys;

namespace RnnLmService.Api.Tests.Security;

/// <summary>Every route the app maps × no key, read, train and admin keys: allowed, 401 or 403 as the role table says.</summary>
public sealed class RouteRoleTests(KeyedFactory factory) : IClassFixture<KeyedFactory>
{
    /// <summary>The README's table. Routes added later must declare a role; those listed here must keep theirs.</summary>
    private static readonly Dictionary<string, string?> Table = new()
    {
        ["GET /health/live"] = null,
        ["GET /health/ready"] = null,
        ["GET /metrics"] = "read",
        ["GET /api/models"] = "read",
        ["GET /api/models/{name}"] = "read",
        ["POST /api/models/{model}/load"] = "admin",
        ["POST /api/models/{model}/unload"] = "admin",
        ["DELETE /api/models/{model}"] = "admin",
        ["PUT /api/models/{model}/default"] = "admin",
        ["POST /api/models/{model}/next-word"] = "read",
        ["POST /api/models/{model}/generate"] = "read",
        ["POST /api/models/{model}/score"] = "read",
        ["GET /v1/models"] = "read",
        ["POST /v1/completions"] = "read",
        ["GET /v1/models/{id}"] = "read",
        ["POST /v1/chat/completions"] = "read",
        ["POST /tokenize"] = "read",
        ["POST /detokenize"] = "read",
        ["POST /api/datasets"] = "train",
        ["GET /api/datasets"] = "read",
        ["GET /api/datasets/{id}"] = "read",
        ["DELETE /api/datasets/{id}"] = "admin",
        ["POST /api/training-jobs"] = "train",
        ["GET /api/training-jobs"] = "read",
        ["GET /api/training-jobs/{id}"] = "read",
        ["GET /api/training-jobs/{id}/events"] = "read",
        ["POST /api/training-jobs/{id}/cancel"] = "train",
        ["POST /api/models/{model}/explain"] = "read",
        ["POST /api/models/{model}/activations"] = "read",
        ["GET /api/models/{model}/neighbours"] = "read",
        ["GET /api/models/{model}/vocabulary"] = "read",
        ["GET /api/models/{model}/export"] = "read",
        ["POST /api/models/import"] = "admin",
        ["GET /api/presets"] = "read",
        ["POST /api/sweeps"] = "train",
        ["GET /api/sweeps"] = "read",
        ["GET /api/sweeps/{id}"] = "read",
        ["POST /api/sweeps/{id}/cancel"] = "train",
        ["POST /api/keys"] = "admin",
        ["GET /api/keys"] = "admin",
        ["DELETE /api/keys/{id}"] = "admin",
    };

    private static readonly (string Name, string? Key, int Rank)[] Callers =
    [
        ("no key", null, -1), ("read", KeyedFactory.ReadKey, 0), ("train", KeyedFactory.TrainKey, 1), ("admin", KeyedFactory.AdminKey, 2),
    ];

    /// <summary>(method, route, role or null for open) of every endpoint, from the app's endpoint data source.</summary>
    internal static List<(string Method, string Route, string? Role)> Routes(IServiceProvider services, List<string> undeclared)
    {
        var routes = new List<(string, string, string?)>();
        foreach (var endpoint in services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var route = "/" + endpoint.RoutePattern.RawText!.Trim('/');
            var role = endpoint.Metadata.GetMetadata<RequiredRole>()?.Role;
            var open = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            foreach (var method in endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [])
            {
                if (role is null == !open) undeclared.Add($"{method} {route} declares {(open ? "both a role and AllowAnyone" : "no role")}");
                routes.Add((method, route, open ? null : role));
            }
        }
        return routes;
    }

    [Fact]
    public void Every_route_declares_a_role_and_the_known_routes_keep_the_documented_one()
    {
        var problems = new List<string>();
        var routes = Routes(factory.Services, problems);
        foreach (var (method, route, role) in routes)
            if (Table.TryGetValue($"{method} {route}", out var expected) && expected != role)
                problems.Add($"{method} {route}: role {role ?? "open"}, the table says {expected ?? "open"}");
        foreach (var known in Table.Keys.Where(k => !routes.Any(r => $"{r.Method} {r.Route}" == k)))
            problems.Add($"{known} is in the table but not mapped");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task Every_route_answers_each_role_as_the_table_says()
    {
        var routes = Routes(factory.Services, []);
        var wrong = new List<string>();
        foreach (var (method, route, role) in routes)
        {
            var url = System.Text.RegularExpressions.Regex.Replace(route, "{[^}]+}", "nope");
            foreach (var (name, key, rank) in Callers)
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), url);
                if (key is not null) request.Headers.Authorization = new("Bearer", key);
                if (method is "POST" or "PUT" or "PATCH") request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
                using var response = await factory.CreateClient().SendAsync(request);
                var status = (int)response.StatusCode;
                var expected = role is null ? "allowed" : rank < 0 ? "401" : rank < ApiKeyRoles.Rank(role) ? "403" : "allowed";
                var got = status is 401 or 403 ? status.ToString() : "allowed";
                if (got != expected) wrong.Add($"{method} {route} with {name}: {status}, expected {expected}");
                if (status is 401 or 403) await AssertErrorShape(response, url, status == 401 ? "invalid_api_key" : "insufficient_role", wrong);
                if (status == 401 && response.Headers.WwwAuthenticate.ToString() != "Bearer") wrong.Add($"{method} {route}: 401 without WWW-Authenticate: Bearer");
            }
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public async Task A_key_sent_as_X_Api_Key_works_and_a_wrong_or_near_miss_key_is_401()
    {
        using var client = factory.CreateClient();
        using var viaHeader = new HttpRequestMessage(HttpMethod.Get, "/api/datasets");
        viaHeader.Headers.Add("X-Api-Key", KeyedFactory.TrainKey);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(viaHeader)).StatusCode);

        var nearMiss = KeyedFactory.ReadKey[..^1] + "X";
        using var wrong = factory.ClientWith(nearMiss);
        var response = await wrong.GetAsync("/api/datasets");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("not valid", await response.Content.ReadAsStringAsync());
        Assert.DoesNotContain(factory.Logs.Lines, l => l.Contains(nearMiss) || l.Contains(KeyedFactory.TrainKey));
    }

    private static async Task AssertErrorShape(HttpResponseMessage response, string url, string code, List<string> wrong)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        if (url.StartsWith("/v1") || url is "/tokenize" or "/detokenize")
        {
            var error = body.RootElement.GetProperty("error");
            if (error.GetProperty("code").GetString() != code) wrong.Add($"{url}: OpenAI error code {error.GetProperty("code")}, expected {code}");
            if (error.GetProperty("type").GetString() is not ("authentication_error" or "permission_error")) wrong.Add($"{url}: OpenAI error type {error.GetProperty("type")}");
        }
        else
        {
            if (response.Content.Headers.ContentType?.MediaType != "application/problem+json") wrong.Add($"{url}: {response.Content.Headers.ContentType}");
            if (body.RootElement.GetProperty("code").GetString() != code) wrong.Add($"{url}: code {body.RootElement.GetProperty("code")}, expected {code}");
        }
    }
}
