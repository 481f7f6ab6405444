using RnnLmService.Core.Modeling;
using RnnLmService.Core.Text;

namespace RnnLmService.Core.Training;

/// <summary>
/// The parent of a warm-started run: the new dataset is read with its tokenizer and encoded with its vocabulary (with a
/// word tokenizer, words outside it become <c>&lt;unk&gt;</c>; with BPE, new words become the parent's subwords) and the
/// model starts from its weights (full or adaptive softmax, as the parent's architecture says). The run's spec carries the parent's tokenizer and
/// architecture (the API refuses a job whose fields contradict them).
/// </summary>
/// <param name="Parent">The parent version, <c>name@version</c> (the spec's <see cref="TrainingSpec.Init"/>).</param>
/// <param name="Architecture">The parent's architecture, checked against the spec's.</param>
/// <param name="Tokenizer">The parent's tokenizer (for BPE, with the parent's merges).</param>
/// <param name="Vocabulary">The parent's vocabulary.</param>
/// <param name="WeightsPath">The parent's weights file.</param>
public sealed record WarmStart(string Parent, ModelOptions Architecture, ITokenizer Tokenizer, Vocabulary Vocabulary, string WeightsPath)
{
    /// <summary>Checks that <paramref name="spec"/> is this parent's run; <see cref="InvalidSettingException"/> naming <c>init</c> otherwise.</summary>
    public void CheckFits(TrainingSpec spec)
    {
        InvalidSettingException.Check(spec.Init == Parent, "init", $"the run names init '{spec.Init}' but was given the parent '{Parent}'.");
        InvalidSettingException.Check(spec.Model == Architecture, "init", $"the run's model settings differ from the architecture of its parent '{Parent}'.");
        InvalidSettingException.Check(spec.Tokenizer == Tokenizer.Options, "init", $"the run's tokenizer settings differ from the tokenizer of its parent '{Parent}'.");
    }

    /// <summary>Loads the parent's weights into <paramref name="model"/> (built with the parent's vocabulary size and architecture).</summary>
    public void LoadInto(RnnLanguageModel model)
    {
        try
        {
            model.load(WeightsPath, strict: true);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ModelFormatException(WeightsPath, $"the weights of the parent '{Parent}' do not fit its architecture: {e.Message}");
        }
    }
}
