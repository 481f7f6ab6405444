namespace RnnLmService.Core;

/// <summary>
/// Collects every <see cref="InvalidSettingException"/> of a validation instead of stopping at the first, so a client
/// learns all that is wrong with a request at once. Inside <see cref="Collect"/>, <see cref="InvalidSettingException.Check"/>
/// records a failed check and carries on; at the end the failures are thrown together as one
/// <see cref="InvalidSettingsException"/>. Only pure checks belong inside: nothing with side effects runs before the
/// errors are thrown. A check that throws directly (or code that fails because an earlier check failed) ends the
/// collection early; what was collected up to then is what the client sees.
/// </summary>
public sealed class SettingErrors
{
    private static readonly AsyncLocal<SettingErrors?> Current = new();
    private readonly List<(string Field, string Message)> errors = [];
    private string prefix = "";

    /// <summary>The collector of the validation running on this async flow, if any.</summary>
    internal static SettingErrors? Active => Current.Value;

    internal void Add(string field, string message) => errors.Add((Qualify(field), message));

    /// <summary>Runs <paramref name="validate"/>, collecting its failed checks; throws them together when there are any.</summary>
    public static void Collect(Action validate) => CollectAsync(() => { validate(); return Task.CompletedTask; }).GetAwaiter().GetResult();

    /// <summary>Runs <paramref name="validate"/>, collecting its failed checks; throws them together when there are any.</summary>
    public static async Task CollectAsync(Func<Task> validate)
    {
        var outer = Current.Value;
        var collector = outer ?? new SettingErrors();
        Current.Value = collector;
        try
        {
            await validate();
        }
        catch (InvalidSettingsException e)
        {
            foreach (var (field, messages) in e.Errors)
                foreach (var message in messages) collector.errors.Add((field, message));
        }
        catch (InvalidSettingException e)
        {
            collector.Add(e.Field, e.Reason);
        }
        catch (Exception) when (collector.errors.Count > 0)
        {
            // A failure caused by a value an earlier check already rejected: the collected reasons say why.
        }
        finally
        {
            Current.Value = outer;
        }
        if (outer is null && collector.errors.Count > 0)
            throw new InvalidSettingsException(collector.errors);
    }

    /// <summary>Runs <paramref name="validate"/> with its fields named under <paramref name="section"/> (<c>training</c> → <c>training.epochs</c>).</summary>
    public static void Section(string section, Action validate)
    {
        if (Current.Value is not { } collector)
        {
            try { validate(); }
            catch (InvalidSettingException e) when (e is not InvalidSettingsException)
            {
                throw new InvalidSettingException(Join(section, e.Field), e.Reason);
            }
            return;
        }
        var saved = collector.prefix;
        collector.prefix = collector.Qualify(section);
        try { validate(); }
        catch (InvalidSettingException e) when (e is not InvalidSettingsException)
        {
            collector.Add(e.Field, e.Reason);
        }
        catch (Exception e) when (e is not InvalidSettingsException && collector.errors.Count > 0)
        {
            // A failure caused by a value this section already rejected: the other sections are still checked.
        }
        finally
        {
            collector.prefix = saved;
        }
    }

    private string Qualify(string field) => Join(prefix, field);

    private static string Join(string section, string field) =>
        section.Length == 0 || field.StartsWith(section + ".", StringComparison.Ordinal) ? field : $"{section}.{field}";
}

/// <summary>Several invalid fields of one request: <see cref="Errors"/> maps each field (by its full path) to its reasons.</summary>
public sealed class InvalidSettingsException : InvalidSettingException
{
    /// <summary>The collected failures, in the order they were found.</summary>
    public InvalidSettingsException(IReadOnlyList<(string Field, string Message)> errors)
        : base(errors[0].Field, errors.Count == 1 ? errors[0].Message : $"{errors.Count} fields are invalid: " + string.Join(" ", errors.Select(e => e.Message)))
    {
        Errors = errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).Distinct().ToArray());
    }

    /// <summary>Each invalid field (full path, e.g. <c>training.epochs</c>) and its reasons.</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; }
}
