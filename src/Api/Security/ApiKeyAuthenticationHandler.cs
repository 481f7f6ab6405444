using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using RnnLmService.Core.Storage.Keys;

namespace RnnLmService.Api.Security;

/// <summary>
/// Reads the key from <c>Authorization: Bearer &lt;key&gt;</c> (what OpenAI clients send) or <c>X-Api-Key</c> and
/// gives the request a principal with the key's role and every role below it. Without a key, an open service
/// (<see cref="AccessMode"/>) gives the anonymous caller <c>admin</c>; there, an unknown key is ignored as well (OpenAI
/// clients always send one), but a revoked key is refused. Keys never reach a log.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory loggerFactory, UrlEncoder encoder,
    ApiKeyResolver keys, AccessMode access)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    /// <summary>The scheme's name.</summary>
    public const string SchemeName = "ApiKey";

    /// <summary>The header that carries a key for clients that do not send <c>Authorization</c>.</summary>
    public const string ApiKeyHeader = "X-Api-Key";

    /// <summary>
    /// Claim with the id limits are counted by: <c>key:…</c>, <c>ip:…</c> for anonymous callers of a deliberately open
    /// service (<c>AllowAnonymous</c>), or <see cref="LocalPartition"/> for the local user of a service open on loopback.
    /// </summary>
    public const string PartitionClaim = "rnnlm:partition";

    /// <summary>The anonymous local user of a service open only on loopback: not rate limited.</summary>
    public const string LocalPartition = "local";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = ReadKey(Request);
        if (presented is { Length: > ApiKeySecrets.MaxKeyLength })
            return AuthenticateResult.Fail($"The API key is longer than {ApiKeySecrets.MaxKeyLength} characters.");
        var open = await access.IsOpenAsync(Context.RequestAborted);
        if (presented is null)
            return open ? Anonymous() : AuthenticateResult.Fail("This route needs an API key: send 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.");

        var (result, identity) = await keys.ResolveAsync(presented, Context.RequestAborted);
        return result switch
        {
            KeyLookup.Valid => Success(identity!.Name, identity.Role, "key:" + identity.Id),
            KeyLookup.Revoked => AuthenticateResult.Fail("This API key was revoked."),
            _ when open => Anonymous(),
            _ => AuthenticateResult.Fail("The API key is not valid."),
        };
    }

    /// <summary>The key a request presents, or null.</summary>
    internal static string? ReadKey(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return authorization["Bearer ".Length..].Trim() is { Length: > 0 } bearer ? bearer : null;
        return request.Headers[ApiKeyHeader].ToString().Trim() is { Length: > 0 } header ? header : null;
    }

    private AuthenticateResult Anonymous() =>
        Success("anonymous", ApiKeyRoles.Admin, OptionsAllowAnonymous
            ? "ip:" + (Context.Connection.RemoteIpAddress?.ToString() ?? "unknown")
            : LocalPartition);

    private bool OptionsAllowAnonymous => access.AllowsAnonymous;

    private AuthenticateResult Success(string name, string role, string partition)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, name), new(PartitionClaim, partition) };
        claims.AddRange(ApiKeyRoles.Including(role).Select(r => new Claim(ClaimTypes.Role, r)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }
}
