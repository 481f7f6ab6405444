"""Loads RnnLmService safetensors exports into a PyTorch word-language-model module and prints, for each file,
the state dict's names and the next-word distribution after a context: JSON {file: {names, probabilities}}.

Reads the file with nothing but json and torch (Debian 12 has no python3-safetensors for its Python):
8-byte little-endian header length, the JSON header, then the raw tensors located by data_offsets.

    python3 safetensors_next_word.py "the cat" MODEL.safetensors [MORE.safetensors ...]
"""
import json
import struct
import sys

import torch
import torch.nn as nn


class RNNModel(nn.Module):
    """Embedding, recurrent layers, dropout, linear decoder: the module of pytorch/examples' word_language_model."""

    def __init__(self, cell, ntoken, ninp, nhid, nlayers, dropout, tie_weights):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        between = dropout if nlayers > 1 else 0.0
        if cell == "lstm":
            self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=between)
        elif cell == "gru":
            self.rnn = nn.GRU(ninp, nhid, nlayers, dropout=between)
        elif cell == "rnnTanh":
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity="tanh", dropout=between)
        else:
            raise ValueError(f"unknown cell type {cell}")
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            self.decoder.weight = self.encoder.weight
        self.cell, self.nlayers, self.nhid = cell, nlayers, nhid

    def init_hidden(self, batch):
        zeros = torch.zeros(self.nlayers, batch, self.nhid)
        return (zeros, zeros.clone()) if self.cell == "lstm" else zeros

    def forward(self, tokens, hidden):
        output, hidden = self.rnn(self.drop(self.encoder(tokens)), hidden)   # (T, B, H)
        return self.decoder(self.drop(output)), hidden                        # (T, B, V)


DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "I64": torch.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    data = bytearray(blob[8 + length:])
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        flat = torch.frombuffer(data, dtype=DTYPES[info["dtype"]], count=(end - begin) // torch.tensor([], dtype=DTYPES[info["dtype"]]).element_size(), offset=begin)
        tensors[name] = flat.reshape(info["shape"]).clone()
    return tensors, metadata, length


def next_word(path, context):
    tensors, metadata, header_length = read_safetensors(path)
    assert (8 + header_length) % 8 == 0, "tensor data is not 8-byte aligned"
    manifest = json.loads(metadata["manifest"])
    vocabulary = json.loads(metadata["vocabulary"])
    arch = manifest["architecture"]
    model = RNNModel(arch["cellType"], len(vocabulary), arch["embeddingSize"], arch["hiddenSize"], arch["layers"],
                     arch["dropout"], arch["tieWeights"])
    model.load_state_dict(tensors, strict=True)
    if arch["tieWeights"]:
        assert metadata.get("tied_weights") == "decoder.weight=encoder.weight"
        assert model.decoder.weight is model.encoder.weight
    model.eval()
    ids = {token: i for i, token in enumerate(vocabulary)}
    sequence = [ids["<eos>"]] + [ids.get(word, ids["<unk>"]) for word in context.split()]
    with torch.no_grad():
        logits, _ = model(torch.tensor(sequence, dtype=torch.long).unsqueeze(1), model.init_hidden(1))
        probabilities = torch.softmax(logits[-1, 0].double(), dim=-1)
    return {"names": sorted(tensors), "probabilities": {vocabulary[i]: p for i, p in enumerate(probabilities.tolist())}}


def main():
    context, paths = sys.argv[1], sys.argv[2:]
    print(json.dumps({path: next_word(path, context) for path in paths}))


if __name__ == "__main__":
    main()
