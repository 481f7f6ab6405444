namespace RnnLmService.Core.Text;

/// <summary>The three texts of a dataset: training, validation (model selection, annealing) and test (final report).</summary>
/// <param name="Train">Training text; the vocabulary is built from it alone.</param>
/// <param name="Valid">Validation text.</param>
/// <param name="Test">Test text.</param>
public sealed record CorpusSplits(string Train, string Valid, string Test);
