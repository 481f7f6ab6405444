using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;
using RnnLmService.Api.Errors;

namespace RnnLmService.Api.Security;

/// <summary>
/// Turns a refused authorization into the one error path: 401 (<see cref="UnauthorizedException"/>, code
/// <c>invalid_api_key</c>) or 403 (<see cref="ForbiddenException"/>, code <c>insufficient_role</c>), which the exception
/// handler writes as problem+json (OpenAI's shape on <c>/v1</c>).
/// </summary>
internal sealed class ProblemAuthorizationResultHandler : IAuthorizationMiddlewareResultHandler
{
    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Challenged)
        {
            // The handler's result is cached for the request: this asks again only for its failure message.
            var reason = (await context.AuthenticateAsync()).Failure?.Message
                ?? "This route needs an API key: send 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.";
            throw new UnauthorizedException(reason);
        }
        if (authorizeResult.Forbidden)
        {
            var needed = policy.Requirements.OfType<RolesAuthorizationRequirement>().SelectMany(r => r.AllowedRoles).FirstOrDefault() ?? "another";
            var name = context.User.Identity?.Name ?? "this key";
            throw new ForbiddenException($"This route needs the '{needed}' role; the key '{name}' does not have it.");
        }
        await next(context);
    }
}
