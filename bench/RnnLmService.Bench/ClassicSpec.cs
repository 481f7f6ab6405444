using RnnLmService.Core.Modeling;
using RnnLmService.Core.Training;

namespace RnnLmService.Bench;

/// <summary>The classic small word-LM configuration every contender runs (pytorch/examples word_language_model defaults, tied).</summary>
internal static class ClassicSpec
{
    public static TrainingSpec From(Args a) => new()
    {
        Tokenizer = BenchData.Whitespace(a.Int("vocab", 10000)),
        Model = new ModelOptions
        {
            CellType = CellType.Lstm,
            EmbeddingSize = a.Int("emsize", 200),
            HiddenSize = a.Int("nhid", 200),
            Layers = a.Int("layers", 2),
            Dropout = a.Double("dropout", 0.2),
            TieWeights = a.Bool("tied", true),
        },
        Training = new TrainingOptions
        {
            Optimizer = OptimizerKind.Sgd,
            LearningRate = a.Double("lr", 20),
            Clip = a.Double("clip", 0.25),
            Epochs = a.Int("epochs", 6),
            BatchSize = a.Int("batch", 20),
            EvalBatchSize = 10,
            Bptt = a.Int("bptt", 35),
            Seed = a.Long("seed", 1111),
        },
    };
}
