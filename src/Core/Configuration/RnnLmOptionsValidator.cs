using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace RnnLmService.Core.Configuration;

/// <summary>
/// Data-annotation validation of the root section and of each nested section (<c>Store</c>, <c>Worker</c>,
/// <c>Serving</c>): <c>ValidateDataAnnotations()</c> alone does not descend into nested objects.
/// </summary>
public sealed class RnnLmOptionsValidator : IValidateOptions<RnnLmOptions>
{
    public ValidateOptionsResult Validate(string? name, RnnLmOptions options)
    {
        var failures = new List<string>();
        Check(options, RnnLmOptions.SectionName, failures);
        Check(options.Store, $"{RnnLmOptions.SectionName}:Store", failures);
        Check(options.Worker, $"{RnnLmOptions.SectionName}:Worker", failures);
        Check(options.Serving, $"{RnnLmOptions.SectionName}:Serving", failures);
        if (options.Worker is { } w && w.LeaseDuration <= w.HeartbeatInterval * 2)
            failures.Add($"{RnnLmOptions.SectionName}:Worker:LeaseDuration ({w.LeaseDuration}) must be more than twice HeartbeatInterval ({w.HeartbeatInterval}), or a live job loses its claim between two heartbeats.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
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
