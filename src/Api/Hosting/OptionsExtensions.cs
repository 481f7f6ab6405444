using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using RnnLmService.Core.Configuration;

namespace RnnLmService.Api.Hosting;

/// <summary>Binds the <c>RnnLm</c> section and validates it, nested sections included, when the host starts.</summary>
public static class OptionsExtensions
{
    /// <summary>Registers <see cref="RnnLmOptions"/>, validated at start (a bad value stops the host with the key named).</summary>
    public static IServiceCollection AddRnnLmOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RnnLmOptions>()
            .Bind(configuration.GetSection(RnnLmOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RnnLmOptions>, RnnLmOptionsValidator>();
        return services;
    }
}

/// <summary>
/// Data-annotation validation of the root section and of each nested section (<c>Store</c>, <c>Worker</c>,
/// <c>Serving</c>): <c>ValidateDataAnnotations()</c> alone does not descend into nested objects.
/// </summary>
internal sealed class RnnLmOptionsValidator : IValidateOptions<RnnLmOptions>
{
    public ValidateOptionsResult Validate(string? name, RnnLmOptions options)
    {
        var failures = new List<string>();
        Check(options, RnnLmOptions.SectionName, failures);
        Check(options.Store, $"{RnnLmOptions.SectionName}:Store", failures);
        Check(options.Worker, $"{RnnLmOptions.SectionName}:Worker", failures);
        Check(options.Serving, $"{RnnLmOptions.SectionName}:Serving", failures);
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
