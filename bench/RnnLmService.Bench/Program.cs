using RnnLmService.Bench;
using RnnLmService.Core;

// Benchmarks of the engine (see bench/README.md). Each command prints one JSON line on stdout; progress goes to stderr.
//   normalize <verses.txt> <outDir>                 one-time normalisation and 80/10/10 split for every contender
//   train <corpus.txt> [key=value ...]              the original one-file run with samples
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: normalize <in> <outDir> | train <corpus.txt> [k=v...]");
    return 2;
}
if (args[0] == "normalize") return Normalize.Run(args[1], args[2]);
NativeRuntime.EnsureLoadedOrExit();
var rest = new Args(args.Skip(2));
return args[0] switch
{
    "train" => TrainFile.Run(args[1..]),
    var c => throw new ArgumentException($"unknown command '{c}'"),
};
