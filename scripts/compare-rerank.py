#!/usr/bin/env python3
"""Side-by-side rerank throughput: WorkerBee's /v1/rerank vs llama.cpp's llama-server --rerank,
same GGUF, same pairs: 1 query x 100 documents of about 200 tokens per request.

A benchmark, not a test. The reranker is a cross-encoder with the shape of
cross-encoder/ms-marco-MiniLM-L6-v2 (6 layers, 384 wide, the same BERT as all-MiniLM-L6-v2): it is
made from the default model's source folder with a seeded classifier head, then imported with
`workerbee models import`, so it needs no download; its speed is that of any MiniLM-L6 cross-encoder.
Both servers run at once on loopback and are measured in interleaved rounds; medians are reported.
llama-server is run with three sets of flags (1, 2 and 8 slots sharing batches) and the best
one is compared. It does not build llama-server; build it from the same llama.cpp
source (docs/PERFORMANCE.md) and pass its path.

  scripts/compare-rerank.py --server /path/to/llama-server --workerbee .build/release/workerbee
"""
import argparse, json, os, random, shutil, socket, struct, subprocess, sys, tempfile, time, urllib.request

LLAMA_SERVER_FLAGS = {  # slots sharing a batch: one, two, eight
    "llama-server np1": ["-c", "512", "-np", "1", "-b", "512", "-ub", "512"],
    "llama-server np2": ["-c", "1024", "-np", "2", "-b", "1024", "-ub", "1024"],
    "llama-server np8": ["-c", "4096", "-np", "8", "-b", "4096", "-ub", "4096"],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, path, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.load(response)


def wait_ready(port, process, path):
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server on port {port} did not become ready")


def make_cross_encoder(source, folder):
    """A BertForSequenceClassification folder: `source`'s BERT and pooler plus a seeded classifier."""
    os.makedirs(folder, exist_ok=True)
    for name in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]:
        if os.path.exists(os.path.join(source, name)):
            shutil.copy(os.path.join(source, name), folder)
    config = json.load(open(os.path.join(source, "config.json")))
    config.update({"architectures": ["BertForSequenceClassification"], "id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0}})
    json.dump(config, open(os.path.join(folder, "config.json"), "w"))
    with open(os.path.join(source, "model.safetensors"), "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    header.pop("__metadata__", None)
    hidden = config["hidden_size"]
    rng = random.Random(7)
    extra = struct.pack(f"<{hidden}f", *[rng.uniform(-0.2, 0.2) for _ in range(hidden)]) + struct.pack("<f", 0.1)
    header["classifier.weight"] = {"dtype": "F32", "shape": [1, hidden], "data_offsets": [len(data), len(data) + 4 * hidden]}
    header["classifier.bias"] = {"dtype": "F32", "shape": [1], "data_offsets": [len(data) + 4 * hidden, len(data) + 4 * hidden + 4]}
    encoded = json.dumps(header).encode()
    with open(os.path.join(folder, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded + data + extra)


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True, help="llama-server built from the same llama.cpp")
    parser.add_argument("--workerbee", default=".build/release/workerbee")
    home = os.environ.get("WORKERBEE_HOME", os.path.expanduser("~/.workerbee"))
    parser.add_argument("--source", default=os.path.join(home, "sources", "all-minilm-l6-v2"), help="a BERT sentence-transformers folder")
    parser.add_argument("--type", default="auto", help="weight type for models import (auto, f32, f16, bf16)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--words", type=int, default=150, help="words per document (about 200 tokens with the query)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds; medians are reported")
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="workerbee-rerank-bench-")
    processes = []
    try:
        folder = os.path.join(scratch, "cross-encoder")
        models = os.path.join(scratch, "models")
        make_cross_encoder(args.source, folder)
        imported = subprocess.run([args.workerbee, "models", "import", folder, "--models-dir", models, "--name", "bench-reranker", "--type", args.type],
                                  capture_output=True, text=True, check=True)
        print(imported.stderr.strip())
        gguf = os.path.join(models, "bench-reranker.gguf")

        corpus = subprocess.run([args.workerbee, "bench", "corpus", "--shape", "chunks", "--count", str(args.documents)],
                                capture_output=True, text=True, check=True).stdout
        documents = [" ".join(json.loads(line).split()[:args.words]) for line in corpus.splitlines()]
        query = "how does a worker process keep the host library alive when the model crashes"

        servers = {}
        port = free_port()
        processes.append(subprocess.Popen([args.workerbee, "serve", "--models-dir", models, "--model", "bench-reranker", "--host", "127.0.0.1", "--port", str(port)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_ready(port, processes[-1], "/ready")
        servers["WorkerBee"] = port
        for name, flags in LLAMA_SERVER_FLAGS.items():
            port = free_port()
            processes.append(subprocess.Popen([args.server, "-m", gguf, "--rerank", "-t", str(args.threads), "--host", "127.0.0.1", "--port", str(port)] + flags,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_ready(port, processes[-1], "/health")
            servers[name] = port

        body = {"model": "bench-reranker", "query": query, "documents": documents, "raw_scores": True}
        answers = {name: post(port, "/v1/rerank", body) for name, port in servers.items()}  # warm-up
        tokens = answers["WorkerBee"]["usage"]["total_tokens"] / len(documents)
        rates = {name: [] for name in servers}
        for _ in range(args.rounds):
            for name, port in servers.items():  # each round runs every server once, so drift hits all alike
                start = time.perf_counter()
                post(port, "/v1/rerank", body)
                rates[name].append(len(documents) / (time.perf_counter() - start))
        m = {name: median(values) for name, values in rates.items()}
        print(f"\n1 query x {len(documents)} documents, {tokens:.0f} tokens per pair, {os.path.basename(gguf)} ({args.type}); "
              f"median of {args.rounds} interleaved rounds (pairs/s)")
        for name, values in rates.items():
            print(f"  {name:17} {m[name]:8.1f}   ({', '.join(f'{v:.1f}' for v in values)})")
        best = max((name for name in servers if name != "WorkerBee"), key=lambda n: m[n])
        print(f"  WorkerBee vs {best} (the faster llama-server): {m['WorkerBee'] / m[best]:.2f}x")

        def order(answer):
            return [r["index"] for r in sorted(answer["results"], key=lambda r: -r["relevance_score"])]
        same = sum(a == b for a, b in zip(order(answers["WorkerBee"])[:10], order(answers[best])[:10]))
        print(f"  top 10 in the same places: {same}/10 (llama-server puts every token in segment 0 and ends the pair without its [SEP]; WorkerBee scores as the original model)")
    finally:
        for process in processes:
            process.terminate()
            process.wait()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
