using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using RnnLmService.Core.Storage.Keys;

namespace RnnLmService.Core.Configuration;

/// <summary>
/// Data-annotation validation of the root section and of each nested section (<c>Store</c>, <c>Storage</c>, <c>Worker</c>,
/// <c>Serving</c>, <c>Auth</c>, <c>Cors</c>, <c>Limits</c>) and of each configured API key: <c>ValidateDataAnnotations()</c> alone does not descend into nested objects.
/// </summary>
public sealed class RnnLmOptionsValidator : IValidateOptions<RnnLmOptions>
{
    public ValidateOptionsResult Validate(string? name, RnnLmOptions options)
    {
        var failures = new List<string>();
        Check(options, RnnLmOptions.SectionName, failures);
        Check(options.Store, $"{RnnLmOptions.SectionName}:Store", failures);
        Check(options.Storage, $"{RnnLmOptions.SectionName}:Storage", failures);
        if (options.Storage is { IsS3: true, S3: var s3 })
        {
            if (string.IsNullOrWhiteSpace(s3.Bucket)) failures.Add($"{RnnLmOptions.SectionName}:Storage:S3:Bucket is required with the s3 provider.");
            if (string.IsNullOrEmpty(s3.AccessKey) != string.IsNullOrEmpty(s3.SecretKey))
                failures.Add($"{RnnLmOptions.SectionName}:Storage:S3: set both AccessKey and SecretKey, or neither (credentials from the environment).");
            if (!string.IsNullOrEmpty(s3.Endpoint) && !Uri.TryCreate(s3.Endpoint, UriKind.Absolute, out _))
                failures.Add($"{RnnLmOptions.SectionName}:Storage:S3:Endpoint must be an absolute URL such as http://minio:9000 (was '{s3.Endpoint}').");
        }
        Check(options.Worker, $"{RnnLmOptions.SectionName}:Worker", failures);
        Check(options.Serving, $"{RnnLmOptions.SectionName}:Serving", failures);
        Check(options.Auth, $"{RnnLmOptions.SectionName}:Auth", failures);
        Check(options.Cors, $"{RnnLmOptions.SectionName}:Cors", failures);
        Check(options.Limits, $"{RnnLmOptions.SectionName}:Limits", failures);
        if (options.Auth is not null) CheckKeys(options.Auth.Keys, failures);
        if (options.Worker is { } w && w.LeaseDuration <= w.HeartbeatInterval * 2)
            failures.Add($"{RnnLmOptions.SectionName}:Worker:LeaseDuration ({w.LeaseDuration}) must be more than twice HeartbeatInterval ({w.HeartbeatInterval}), or a live job loses its claim between two heartbeats.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Each configured key: a unique name, a valid role, and either a key of 16+ characters or a 64-digit SHA-256.</summary>
    private static void CheckKeys(IReadOnlyList<ConfiguredApiKey> keys, List<string> failures)
    {
        for (var i = 0; i < keys.Count; i++)
        {
            var k = keys[i];
            var at = $"{RnnLmOptions.SectionName}:Auth:Keys:{i}";
            if (string.IsNullOrWhiteSpace(k.Name)) failures.Add($"{at}:Name is required.");
            else if (keys.Take(i).Any(o => o.Name == k.Name)) failures.Add($"{at}:Name '{k.Name}' is used by another key.");
            if (!ApiKeyRoles.IsValid(k.Role)) failures.Add($"{at}:Role must be read, train or admin (was '{k.Role}').");
            var hasKey = !string.IsNullOrEmpty(k.Key);
            var hasHash = !string.IsNullOrEmpty(k.KeySha256);
            if (hasKey == hasHash) failures.Add($"{at}: set exactly one of Key and KeySha256.");
            else if (hasKey && k.Key!.Length is < 16 or > ApiKeySecrets.MaxKeyLength)
                failures.Add($"{at}:Key must be 16 to {ApiKeySecrets.MaxKeyLength} characters (generate one with: openssl rand -base64 32).");
            else if (hasHash && ApiKeySecrets.ParseHash(k.KeySha256) is null)
                failures.Add($"{at}:KeySha256 must be 64 hex digits (printf %s KEY | sha256sum).");
        }
    }

    private static void Check(object? section, string prefix, List<string> failures)
    {
        if (section is null)
        {
            failures.Add($"{prefix} is required.");
            return;
        }
        var results = new List<ValidationResult>();
        if (Validator.TryValidateObject(section, new ValidationContext(section), results, validateAllProperties: true))
            return;
        foreach (var result in results)
            failures.Add($"{prefix}:{string.Join(",", result.MemberNames)}: {result.ErrorMessage}");
    }
}
