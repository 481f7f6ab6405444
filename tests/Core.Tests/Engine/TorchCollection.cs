namespace RnnLmService.Core.Tests.Engine;

/// <summary>
/// LibTorch's random generator and thread settings are process-wide: tests that compare two training runs
/// bit for bit must not share the process with other tests running at the same moment.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTorchCollection
{
    public const string Name = "serial torch";
}
