namespace RnnLmService.Core.Storage.Keys;

/// <summary>
/// The roles a key can have, each including the ones below it: <c>read</c> (inference, listing) ⊂ <c>train</c>
/// (datasets, jobs) ⊂ <c>admin</c> (models, keys, deletion).
/// </summary>
public static class ApiKeyRoles
{
    public const string Read = "read";
    public const string Train = "train";
    public const string Admin = "admin";

    /// <summary>Lowest to highest.</summary>
    public static readonly IReadOnlyList<string> All = [Read, Train, Admin];

    /// <summary>Longest key name.</summary>
    public const int MaxNameLength = 100;

    /// <summary>True for <c>read</c>, <c>train</c> and <c>admin</c> (exact spelling).</summary>
    public static bool IsValid(string? role) => role is Read or Train or Admin;

    /// <summary><paramref name="role"/> and every role below it: <c>train</c> → read, train.</summary>
    public static IEnumerable<string> Including(string role) => All.Take(Rank(role) + 1);

    /// <summary>0 for read, 1 for train, 2 for admin.</summary>
    public static int Rank(string role) => IsValid(role) ? All.ToList().IndexOf(role)
        : throw new InvalidSettingException("role", $"role must be one of read, train, admin (was '{role}').");
}
