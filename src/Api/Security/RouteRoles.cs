using RnnLmService.Core.Storage.Keys;

namespace RnnLmService.Api.Security;

/// <summary>The role a route needs, as endpoint metadata (read by the OpenAPI document and the tests).</summary>
public sealed record RequiredRole(string Role);

/// <summary>
/// How a route declares who may call it: <see cref="RequireApiRole{TBuilder}"/> (<c>read</c>, <c>train</c> or
/// <c>admin</c>; a higher role includes the lower ones) or <see cref="AllowAnyone{TBuilder}"/>. A route with neither
/// falls back to <c>read</c>, and the route × role test fails for it.
/// </summary>
public static class RouteRoles
{
    /// <summary>Only keys of <paramref name="role"/> or higher (anyone while the service is open).</summary>
    public static TBuilder RequireApiRole<TBuilder>(this TBuilder builder, string role) where TBuilder : IEndpointConventionBuilder
    {
        _ = ApiKeyRoles.Rank(role);
        return builder.RequireAuthorization(role).WithMetadata(new RequiredRole(role));
    }

    /// <summary>No key needed, ever (health probes).</summary>
    public static TBuilder AllowAnyone<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AllowAnonymous();

    /// <summary><see cref="RequireApiRole{TBuilder}"/> with <c>read</c> when <paramref name="protect"/>, else <see cref="AllowAnyone{TBuilder}"/>.</summary>
    public static TBuilder RequireReadWhen<TBuilder>(this TBuilder builder, bool protect) where TBuilder : IEndpointConventionBuilder =>
        protect ? builder.RequireApiRole(ApiKeyRoles.Read) : builder.AllowAnyone();
}
