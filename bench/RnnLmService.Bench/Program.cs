using RnnLmService.Bench;
using RnnLmService.Core;

// Benchmarks of the engine (see bench/README.md). Each command prints one JSON line on stdout; progress goes to stderr.
//   normalize <verses.txt> <outDir>                 one-time normalisation and 80/10/10 split for every contender
//   throughput <dir> contender=trainer|bare [threads= warmup= steps= ...]
//   quality <dir> [epochs=6 threads=1 ...]          our trainer's test perplexity
//   recipe <dir> spec='{json}' [label= threads=1]   one job spec (preset + fields, as the API takes it) through the Trainer
//   kn <dir> [order=3 vocab=10000]                  interpolated modified Kneser-Ney baseline
//   overhead <dir> [threads=1 calls=2000]           what the trainer adds per step beyond the bare loop, piece by piece
//   train <corpus.txt> [key=value ...]              the original one-file run with samples
//   vocab <dir> contender=full|adaptive|word|bpe [vocab= cutoffs= epochs=1 trainLines= steps= ...]   vocabulary efficiency
//   service-train <url> <dir> [model=kjv-bench epochs=6 ...]   the classic run queued through a running service
//   load next-word|generate|typing|long <url> [model= concurrency=1,8,64 streams=1,16 tokens=100,400 pid= ...]   load on a running service
//   soak <url> keys=k1,k2 admin=KEY pid=N [minutes=10 clients=64 jobs=10 uploads=40]   mixed traffic for minutes (bench/soak.sh)
//   bare-serving <modelDir> [batch=32 streams=1,16 tokens=200 seconds=15]   the bare TorchSharp limit of serving (issue 12)
//   genstep <modelDir> [streams=16 tokens=200 reps=3]   the service's generation step next to the bare loop's, in process
//   nextstep <modelDir> [batch=32 batches=200 reps=3]   the service's next-word batch next to the bare loop's, in process
//   prepare <dir> [work=DIR budget=1000000]        a training job's dataset preparation (token files), timed, with peak RSS
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: normalize <in> <outDir> | throughput|quality|kn|overhead <dir> [k=v...] | train <corpus.txt> [k=v...]"
                            + " | load next-word|generate <url> [k=v...] | service-train <url> <dir> [k=v...]  (see bench/README.md)");
    return 2;
}
if (args[0] == "normalize") return Normalize.Run(args[1], args[2]);
// HTTP clients of a running service: no LibTorch needed.
if (args[0] == "load") return LoadClient.Run(args[1], args[2], new Args(args.Skip(3)));
if (args[0] == "soak") return Soak.Run(args[1], new Args(args.Skip(2)));
if (args[0] == "service-train") return ServiceTrain.Run(args[1], args[2], new Args(args.Skip(3)));
NativeRuntime.EnsureLoadedOrExit();
var rest = new Args(args.Skip(2));
return args[0] switch
{
    "throughput" => rest.Get("contender", "trainer") switch
    {
        "trainer" => TrainerBench.Throughput(args[1], rest),
        "bare" => BareLoop.Throughput(args[1], rest),
        var c => throw new ArgumentException($"unknown contender '{c}' (trainer or bare)"),
    },
    "quality" => TrainerBench.Quality(args[1], rest),
    "recipe" => Recipe.Run(args[1], rest),
    "kn" => KneserNey.Run(args[1], rest),
    "overhead" => Overhead.Run(args[1], rest),
    "train" => TrainFile.Run(args[1..]),
    "bare-serving" => BareServing.Run(args[1], rest),
    "genstep" => GenStep.Run(args[1], rest),
    "nextstep" => NextStep.Run(args[1], rest),
    "typingstep" => TypingStep.Run(args[1], rest),
    "decoder-gemm" => DecoderGemm.Run(new Args(args.Skip(1))),
    "vocab" => VocabBench.Run(args[1], rest),
    "prepare" => PrepareBench.Run(args[1], rest),
    var c => throw new ArgumentException($"unknown command '{c}'"),
};
