#!/usr/bin/env python3
"""Bulk embedding speed against what people would otherwise run, on this machine, in one run:
WorkerBee's CLI (the default model as the setup converted it), sentence-transformers on PyTorch
(bfloat16 and float32) and ONNX Runtime (float32, with the BERT fusion optimizer fastembed ships),
all on all-MiniLM-L6-v2, for chunks and for queries. Interleaved rounds, medians; the cosine of
every vector to PyTorch float32's (the reference); and the machine's matrix-product rate (a
probe: PyTorch's bfloat16 and float32 products of the FFN's shape, 2048x384 @ 384x1536, through
oneDNN), with the share of the faster one WorkerBee's chunks reach.

A benchmark, not a test. The peers live in a throwaway virtual environment outside the
repository (created on first use, about 6 GB: PyTorch's wheel brings its CUDA libraries); they
are never the project's dependencies.

  scripts/compare-peers.py [--venv DIR] [--workerbee .build/release/workerbee] [--rounds 3]
"""
import argparse, json, os, subprocess, sys, tempfile

HOME = os.environ.get("WORKERBEE_HOME", os.path.expanduser("~/.workerbee"))

# Runs inside the peers' virtual environment: one contender, one corpus; prints texts/s.
PEER = r'''
import json, sys, time
import numpy as np
kind, source, corpus, out, threads = sys.argv[1:6]
texts = [json.loads(line) for line in open(corpus)]
import torch
torch.set_num_threads(int(threads))
if kind.startswith("torch"):
    from sentence_transformers import SentenceTransformer
    dtype = torch.bfloat16 if kind == "torch-bf16" else torch.float32
    model = SentenceTransformer(source, device="cpu", model_kwargs={"torch_dtype": dtype})
    model.encode(texts[:32], batch_size=32)
    start = time.perf_counter()
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True)
    seconds = time.perf_counter() - start
else:
    import onnxruntime as ort
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(source)
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    session = ort.InferenceSession(kind.split(":", 1)[1], options, providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    def encode(batch):
        enc = tokenizer(batch, padding=True, truncation=True, max_length=256, return_tensors="np")
        feed = {k: v.astype(np.int64) for k, v in enc.items() if k in names}
        hidden = session.run(None, feed)[0]
        mask = enc["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    encode(texts[:32])
    start = time.perf_counter()
    vectors = np.concatenate([encode(texts[i:i + 32]) for i in range(0, len(texts), 32)])
    seconds = time.perf_counter() - start
np.save(out, np.asarray(vectors, dtype=np.float32))
print(len(texts) / seconds)
'''

EXPORT = r'''
import sys, torch
from transformers import AutoModel
from onnxruntime.transformers import optimizer
source, raw, fused = sys.argv[1:4]
model = AutoModel.from_pretrained(source).eval()
class Encoder(torch.nn.Module):  # the three inputs by name, the token rows out
    def __init__(self, bert):
        super().__init__()
        self.bert = bert
    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
ids = torch.ones(2, 16, dtype=torch.long)
axes = {0: "batch", 1: "tokens"}
torch.onnx.export(Encoder(model), (ids, ids, torch.zeros_like(ids)), raw, input_names=["input_ids", "attention_mask", "token_type_ids"],
                  output_names=["last_hidden_state"], dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                  "last_hidden_state": axes}, opset_version=17, dynamo=False)
optimizer.optimize_model(raw, model_type="bert", num_heads=model.config.num_attention_heads, hidden_size=model.config.hidden_size).save_model_to_file(fused)
'''

PROBE = r'''
import sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
dtype = getattr(torch, sys.argv[2])
a = torch.randn(2048, 384, dtype=dtype); b = torch.randn(384, 1536, dtype=dtype)
for _ in range(5): a @ b
rates = []
for _ in range(5):
    start = time.perf_counter()
    for _ in range(20): a @ b
    rates.append(20 * 2 * 2048 * 384 * 1536 / (time.perf_counter() - start) / 1e9)
print(sorted(rates)[2])
'''


def venv_python(venv):
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        print(f"setting up the peers in {venv} (PyTorch, sentence-transformers, ONNX Runtime)...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", "torch", "sentence-transformers", "onnxruntime", "onnx"], check=True)
    return python


def run(python, script, *args):
    return subprocess.run([python, "-c", script, *args], check=True, capture_output=True, text=True).stdout.strip()


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--venv", default=os.path.join(HOME, "peers"), help="the peers' virtual environment (made if missing)")
    parser.add_argument("--workerbee", default=".build/release/workerbee")
    parser.add_argument("--source", default=os.path.join(HOME, "sources", "all-minilm-l6-v2"), help="the sentence-transformers folder")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import numpy as np
    python = venv_python(args.venv)
    scratch = tempfile.mkdtemp(prefix="workerbee-peers-")
    onnx = os.path.join(scratch, "model-fused.onnx")
    run(python, EXPORT, args.source, os.path.join(scratch, "model.onnx"), onnx)
    contenders = ["WorkerBee", "torch-bf16", "torch-f32", f"onnx:{onnx}"]
    label = {"WorkerBee": "WorkerBee CLI, default model", "torch-bf16": "sentence-transformers, bfloat16",
             "torch-f32": "sentence-transformers, float32", f"onnx:{onnx}": "ONNX Runtime float32 (BERT fusion)"}
    shapes = {"chunks": ("chunks", 200), "queries": ("sentences", 1000)}
    results = {}
    for shape, (kind, count) in shapes.items():
        corpus = os.path.join(scratch, f"{shape}.jsonl")
        with open(corpus, "w") as f:
            subprocess.run([args.workerbee, "bench", "corpus", "--shape", kind, "--count", str(count)], stdout=f, check=True)
        rates = {c: [] for c in contenders}
        tokens = 0
        for _ in range(args.rounds):
            for c in contenders:
                if c == "WorkerBee":
                    out = json.loads(subprocess.run([args.workerbee, "bench", "embed", "--input", corpus, "--json"],
                                                    check=True, capture_output=True, text=True).stdout)
                    rates[c].append(out["textsPerSecond"])
                    tokens = out["tokens"] / out["texts"]
                else:
                    rates[c].append(float(run(python, PEER, c, args.source, corpus, os.path.join(scratch, f"{shape}-{len(rates[c])}.npy"), str(args.threads))))
        # Cosines to PyTorch float32, vector by vector.
        vectors = {}
        for c in contenders:
            if c == "WorkerBee":
                lines = subprocess.run([args.workerbee, "embed", "--input", corpus], check=True, capture_output=True, text=True).stdout.splitlines()
                vectors[c] = np.array([json.loads(line)["embedding"] for line in lines], dtype=np.float32)
            else:
                path = os.path.join(scratch, f"{shape}-{c.split(':')[0]}.npy")
                run(python, PEER, c, args.source, corpus, path, str(args.threads))
                vectors[c] = np.load(path)
        reference = vectors["torch-f32"]
        cosine = {c: float(np.min(np.sum(v * reference, axis=1) / np.linalg.norm(v, axis=1) / np.linalg.norm(reference, axis=1))) for c, v in vectors.items()}
        results[shape] = ({c: median(r) for c, r in rates.items()}, cosine, tokens, count, rates)
    # The machine's matrix-product rate in both types: a CPU without BF16 instructions (AVX2 only)
    # runs bfloat16 far below float32, and the share is taken of the faster one.
    probes = {dtype: float(run(python, PROBE, str(args.threads), dtype)) for dtype in ("bfloat16", "float32")}
    best = max(probes, key=probes.get)
    probe = probes[best]
    print(f"\nall-MiniLM-L6-v2 on {args.threads} threads, medians of {args.rounds} interleaved rounds (texts/s); cosine: the lowest over all texts, to PyTorch float32")
    print(f"| | chunks ({results['chunks'][3]}, {results['chunks'][2]:.0f} tokens) | queries ({results['queries'][3]}, {results['queries'][2]:.0f} tokens) | cosine, chunks | cosine, queries |")
    print("| --- | --- | --- | --- | --- |")
    for c in contenders:
        print(f"| {label[c]} | {results['chunks'][0][c]:.1f} | {results['queries'][0][c]:.1f} | {results['chunks'][1][c]:.5f} | {results['queries'][1][c]:.5f} |")
    wb, st = results["chunks"][0]["WorkerBee"], results["chunks"][0]["torch-bf16"]
    print(f"\nWorkerBee vs sentence-transformers bfloat16: chunks {wb / st:.2f}x, queries {results['queries'][0]['WorkerBee'] / results['queries'][0]['torch-bf16']:.2f}x")
    peers = [c for c in contenders if c != "WorkerBee"]
    for shape in ("chunks", "queries"):
        fastest = max(peers, key=lambda c: results[shape][0][c])
        print(f"WorkerBee vs the fastest peer on {shape} ({label[fastest]}): {results[shape][0]['WorkerBee'] / results[shape][0][fastest]:.2f}x")
    n, h, ff, layers = results["chunks"][2], 384, 1536, 6
    flop = layers * n * (8 * h * h + 4 * h * ff + 4 * n * h)  # projections, FFN, attention (QK and PV)
    print(f"Matrix-product rate (probe, PyTorch/oneDNN, 2048x384 @ 384x1536): bfloat16 {probes['bfloat16']:.0f} GFLOP/s, float32 {probes['float32']:.0f} GFLOP/s; "
          f"WorkerBee's chunks: {wb * flop / 1e9:.0f} GFLOP/s ({wb * flop / 1e9 / probe:.0%} of the {best} rate; {flop / 1e9:.2f} GFLOP per chunk)")
    for shape, (_, _, _, _, rates) in results.items():
        print(f"  {shape} rounds: " + "; ".join(f"{label[c]} {', '.join(f'{v:.1f}' for v in r)}" for c, r in rates.items()))


if __name__ == "__main__":
    sys.exit(main())
