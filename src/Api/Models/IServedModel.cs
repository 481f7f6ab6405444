namespace RnnLmService.Api.Models;

/// <summary>A loaded model version with its inference scheduler. Disposing it stops the scheduler and frees the weights.</summary>
public interface IServedModel : IDisposable
{
    /// <summary><c>name@version</c>.</summary>
    string Key { get; }
}

/// <summary>Loads a model version's directory into an <see cref="IServedModel"/>.</summary>
public interface IServedModelLoader
{
    /// <summary>Loads the model in <paramref name="directory"/>; throws <see cref="RnnLmService.Core.ModelFormatException"/> when the files are unusable.</summary>
    Task<IServedModel> LoadAsync(string key, string directory, CancellationToken cancellationToken);
}
