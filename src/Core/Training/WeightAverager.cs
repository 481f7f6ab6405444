using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RnnLmService.Core.Training;

/// <summary>
/// The averaged iterate of NT-ASGD (Merity et al. 2017; Polyak averaging): after the switch, the running mean of the
/// weights after every optimizer step. Evaluation and the saved model use the mean; training continues on the raw weights.
/// </summary>
public sealed class WeightAverager : IDisposable
{
    private readonly IReadOnlyList<Parameter> parameters;
    private readonly List<Tensor> averages;

    /// <summary>Starts an empty average over <paramref name="parameters"/>.</summary>
    public WeightAverager(IReadOnlyList<Parameter> parameters)
    {
        this.parameters = parameters;
        averages = parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToList();
    }

    /// <summary>Weight vectors averaged so far.</summary>
    public long Count { get; private set; }

    /// <summary>The averages, in parameter order (for tests).</summary>
    public IReadOnlyList<Tensor> Averages => averages;

    /// <summary>Adds the current weights: avg += (w - avg) / n.</summary>
    public void Update()
    {
        using var noGrad = no_grad();
        Count++;
        var w = 1.0 / Count;
        for (var i = 0; i < averages.Count; i++)
            averages[i].mul_(1 - w).add_(parameters[i], alpha: w);
    }

    /// <summary>Puts the averages into the model until the returned object is disposed (then the raw weights return).</summary>
    public IDisposable SwapIn() => new Swap(this);

    /// <summary>Writes the count and the averages.</summary>
    public void Save(string path)
    {
        using var w = new BinaryWriter(File.Create(path));
        w.Write(Count);
        foreach (var a in averages) a.Save(w);
    }

    /// <summary>Reads what <see cref="Save"/> wrote into this averager (same parameter shapes).</summary>
    public void Load(string path)
    {
        using var r = new BinaryReader(File.OpenRead(path));
        Count = r.ReadInt64();
        foreach (var a in averages) a.Load(r);
    }

    /// <summary>
    /// AWD-LSTM's trigger: switch when the validation loss is worse than the best of the checks made before the last
    /// <paramref name="nonmonoInterval"/> ones (that is, no improvement for that many checks).
    /// </summary>
    public static bool ShouldSwitch(IReadOnlyList<double> previousLosses, double loss, int nonmonoInterval) =>
        previousLosses.Count > nonmonoInterval && loss > previousLosses.Take(previousLosses.Count - nonmonoInterval).Min();

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var a in averages) a.Dispose();
    }

    private sealed class Swap : IDisposable
    {
        private readonly WeightAverager owner;
        private readonly List<Tensor> raw;

        public Swap(WeightAverager owner)
        {
            this.owner = owner;
            using var noGrad = no_grad();
            raw = owner.parameters.Select(p => p.detach().clone().DetachFromDisposeScope()).ToList();
            for (var i = 0; i < raw.Count; i++) owner.parameters[i].copy_(owner.averages[i]);
        }

        public void Dispose()
        {
            using (no_grad())
                for (var i = 0; i < raw.Count; i++) owner.parameters[i].copy_(raw[i]);
            foreach (var r in raw) r.Dispose();
            raw.Clear();
        }
    }
}
