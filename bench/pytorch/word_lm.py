"""PyTorch reference for the RnnLmService benchmarks: pytorch/examples' word_language_model, in one file.

Reads bench/out/kjv/{train,valid,test}.txt (already normalised: tokens split on whitespace, <eos> at each
line end), builds the vocabulary by the engine's rule (<unk>=0, <eos>=1, then count descending, ties in
ordinal order, capped), and trains the classic recipe: LSTM 2x200, tied, dropout 0.2, BPTT 35, batch 20,
SGD lr 20 divided by 4 when validation loss does not improve, clip 0.25, best model kept.

  python3 word_lm.py throughput --data DIR --threads 1 --warmup 40 --steps 200
  python3 word_lm.py quality --data DIR --epochs 6 --threads 1

Each prints one JSON line on stdout; progress goes to stderr.
"""
import argparse
import collections
import hashlib
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

UNK, EOS = "<unk>", "<eos>"


# --- data ---------------------------------------------------------------------------------------------------

def read_tokens(path):
    """Whitespace tokens of every non-blank line, each line followed by <eos>."""
    tokens = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            words = line.split()
            if words:
                tokens.extend(words)
                tokens.append(EOS)
    return tokens


def build_vocab(train_tokens, max_size):
    """Specials first, then count descending, ties by code point (= .NET ordinal for this ASCII text)."""
    counts = collections.Counter(t for t in train_tokens if t not in (UNK, EOS))
    kept = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: max_size - 2]
    return [UNK, EOS] + [t for t, _ in kept]


def vocab_hash(itos):
    return hashlib.sha256("\n".join(itos).encode("utf-8")).hexdigest()[:16]


def encode(tokens, stoi):
    return torch.tensor([stoi.get(t, 0) for t in tokens], dtype=torch.long)


def batchify(ids, bsz):
    """(T, B): column b is the b-th contiguous stream; the remainder is dropped."""
    steps = ids.size(0) // bsz
    return ids[: steps * bsz].view(bsz, steps).t().contiguous()


def get_batch(source, i, bptt):
    n = min(bptt, source.size(0) - 1 - i)
    return source[i:i + n], source[i + 1:i + 1 + n].reshape(-1)   # (t, B), (t*B)


def load(data, vocab_size):
    train = read_tokens(os.path.join(data, "train.txt"))
    itos = build_vocab(train, vocab_size)
    stoi = {t: i for i, t in enumerate(itos)}
    splits = [encode(train, stoi)] + [encode(read_tokens(os.path.join(data, f"{s}.txt")), stoi) for s in ("valid", "test")]
    return itos, splits


# --- model --------------------------------------------------------------------------------------------------

class RNNModel(nn.Module):
    """Embedding -> LSTM -> dropout -> Linear (tied to the embedding); input (T, B), logits (T, B, V)."""

    def __init__(self, ntoken, ninp, nhid, nlayers, dropout, tied):
        super().__init__()
        if tied and ninp != nhid:
            raise ValueError("tied weights need emsize == nhid")
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout if nlayers > 1 else 0.0)
        self.decoder = nn.Linear(nhid, ntoken)
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        if tied:
            self.decoder.weight = self.encoder.weight
        self.nlayers, self.nhid = nlayers, nhid

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))                  # (T, B, E)
        output, hidden = self.rnn(emb, hidden)                # (T, B, H)
        return self.decoder(self.drop(output)), hidden        # (T, B, V)

    def init_hidden(self, bsz):
        w = next(self.parameters())
        return (w.new_zeros(self.nlayers, bsz, self.nhid), w.new_zeros(self.nlayers, bsz, self.nhid))


def repackage(h):
    return tuple(x.detach() for x in h)


def train_step(model, params, data, targets, hidden, lr, clip, ntokens):
    model.zero_grad(set_to_none=True)
    hidden = repackage(hidden)
    output, hidden = model(data, hidden)
    loss = F.cross_entropy(output.view(-1, ntokens), targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, clip)
    with torch.no_grad():
        for p in params:
            p.add_(p.grad, alpha=-lr)
    return loss, hidden


@torch.no_grad()
def evaluate(model, ids, bsz, bptt, ntokens):
    """(mean NLL per target token, target count) over the split cut into bsz streams (as the engine's Evaluator)."""
    model.eval()
    bsz = max(1, min(bsz, (ids.size(0) - 1) // 2))
    source = batchify(ids, bsz)
    hidden = model.init_hidden(bsz)
    total, count = 0.0, 0
    for i in range(0, source.size(0) - 1, bptt):
        data, targets = get_batch(source, i, bptt)
        output, hidden = model(data, hidden)
        total += F.cross_entropy(output.view(-1, ntokens), targets, reduction="sum").item()
        count += targets.numel()
    model.train()
    return total / count, count


def blas_library():
    """The BLAS shared object this process actually mapped (OpenBLAS vs reference BLAS matters a lot)."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower() and line.strip().endswith(".so.3") or "openblas" in line.lower()}
    return sorted(os.path.realpath(p) for p in libs if p.startswith("/"))


# --- commands -----------------------------------------------------------------------------------------------

def make(args, ntokens):
    torch.manual_seed(args.seed)
    model = RNNModel(ntokens, args.emsize, args.nhid, args.layers, args.dropout, args.tied)
    return model, list(model.parameters())     # parameters() yields the tied matrix once


def throughput(args):
    itos, (train, _, _) = load(args.data, args.vocab)
    ntokens = len(itos)
    model, params = make(args, ntokens)
    source = batchify(train, args.batch)
    if (args.warmup + args.steps) * args.bptt >= source.size(0) - 1:
        sys.exit("the epoch ends before the timed window does; use fewer steps")
    model.train()
    hidden = model.init_hidden(args.batch)
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            start, cpu_start = time.perf_counter(), time.process_time()
        data, targets = get_batch(source, step * args.bptt, args.bptt)
        _, hidden = train_step(model, params, data, targets, hidden, args.lr, args.clip, ntokens)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    tokens = args.steps * args.bptt * args.batch
    print(json.dumps({"contender": "pytorch", "threads": torch.get_num_threads(), "warmupSteps": args.warmup,
                      "steps": args.steps, "tokens": tokens, "seconds": round(seconds, 3),
                      "cpuSeconds": round(cpu, 3), "tokensPerSecond": round(tokens / seconds, 1),
                      "tokensPerCpuSecond": round(tokens / cpu, 1), "torch": torch.__version__, "blas": blas_library()}))


def quality(args):
    itos, (train, valid, test) = load(args.data, args.vocab)
    ntokens = len(itos)
    model, params = make(args, ntokens)
    source = batchify(train, args.batch)
    steps_per_epoch = math.ceil((source.size(0) - 1) / args.bptt)
    lr, best_val, best_state, history, bad = args.lr, None, None, [], 0
    started = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        hidden = model.init_hidden(args.batch)
        window, t0 = 0.0, time.perf_counter()
        for b, i in enumerate(range(0, source.size(0) - 1, args.bptt), 1):
            data, targets = get_batch(source, i, args.bptt)
            loss, hidden = train_step(model, params, data, targets, hidden, lr, args.clip, ntokens)
            window += loss.item()
            if b % 200 == 0:
                tps = 200 * args.bptt * args.batch / (time.perf_counter() - t0)
                print(f"[pytorch] epoch {epoch} step {b}/{steps_per_epoch} loss {window / 200:.3f} tok/s {tps:.0f}", file=sys.stderr)
                window, t0 = 0.0, time.perf_counter()
        val, _ = evaluate(model, valid, 10, args.bptt, ntokens)
        history.append(math.exp(val))
        if best_val is None or val < best_val:
            best_val, bad = val, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            lr /= 4.0
            bad += 1
        print(f"[pytorch] epoch {epoch} valid ppl {math.exp(val):.2f} lr {lr}", file=sys.stderr)
        if args.patience > 0 and bad >= args.patience:
            break
    model.load_state_dict(best_state)
    test_loss, test_targets = evaluate(model, test, 10, args.bptt, ntokens)
    print(json.dumps({"contender": "pytorch", "model": "lstm", "epochs": len(history), "threads": torch.get_num_threads(),
                      "vocab": ntokens, "vocabHash": vocab_hash(itos), "trainTokens": train.numel(), "testTokens": test.numel(), "testTargets": test_targets,
                      "validPpl": history, "bestValidPpl": math.exp(best_val), "testPpl": math.exp(test_loss),
                      "seconds": round(time.perf_counter() - started, 1), "torch": torch.__version__}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["throughput", "quality"])
    p.add_argument("--data", required=True, help="directory with train.txt, valid.txt, test.txt")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--vocab", type=int, default=10000, help="vocabulary cap, specials included")
    p.add_argument("--emsize", type=int, default=200, help="embedding size")
    p.add_argument("--nhid", type=int, default=200, help="hidden units per layer")
    p.add_argument("--layers", type=int, default=2, help="LSTM layers")
    p.add_argument("--dropout", type=float, default=0.2, help="dropout")
    p.add_argument("--tied", type=lambda s: s.lower() == "true", default=True, help="tie encoder and decoder (true/false)")
    p.add_argument("--lr", type=float, default=20.0, help="initial SGD learning rate")
    p.add_argument("--clip", type=float, default=0.25, help="gradient-norm clip")
    p.add_argument("--bptt", type=int, default=35, help="truncated BPTT length")
    p.add_argument("--batch", type=int, default=20, help="training streams")
    p.add_argument("--seed", type=int, default=1111, help="random seed")
    p.add_argument("--epochs", type=int, default=6, help="quality: epochs")
    p.add_argument("--patience", type=int, default=3, help="quality: stop after this many epochs without improvement (0: never)")
    p.add_argument("--warmup", type=int, default=40, help="throughput: untimed steps first")
    p.add_argument("--steps", type=int, default=200, help="throughput: timed steps")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    (throughput if args.command == "throughput" else quality)(args)


if __name__ == "__main__":
    main()
