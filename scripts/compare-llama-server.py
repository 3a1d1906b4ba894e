#!/usr/bin/env python3
"""Side-by-side embedding throughput: llama.cpp's llama-server vs WorkerBee, same model, same texts.

A benchmark, not a test. It does not build llama-server; build it from the same llama.cpp source
(see docs/PERFORMANCE.md) and pass its path. Only loopback traffic.

  scripts/compare-llama-server.py --server /path/to/llama-server --workerbee .build/release/workerbee
"""
import argparse, json, os, socket, subprocess, sys, threading, time, urllib.request

SERVER_FLAGS = {  # the settings the issue measured as llama-server's best
    "chunks": ["-c", "512", "-np", "1", "-b", "512", "-ub", "512"],
    "sentences": ["-c", "4096", "-np", "8", "-b", "4096", "-ub", "1024"],
}
COUNTS = {"chunks": 300, "sentences": 3000}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, texts):
    body = json.dumps({"input": texts, "model": "m"}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/embeddings", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        data = json.load(response)
    assert len(data["data"]) == len(texts)


def bench_server(server, model, shape, texts, threads, per_request=32, in_flight=4):
    port = free_port()
    command = [server, "-m", model, "--embedding", "-t", str(threads), "--host", "127.0.0.1", "--port", str(port)] + SERVER_FLAGS[shape]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except Exception:
                pass
            if time.time() > deadline or process.poll() is not None:
                raise RuntimeError("llama-server did not start")
            time.sleep(0.1)
        post(port, texts[:per_request])  # warm-up
        batches = [texts[i:i + per_request] for i in range(0, len(texts), per_request)]
        lock = threading.Lock()

        def worker():
            while True:
                with lock:
                    if not batches:
                        return
                    batch = batches.pop()
                post(port, batch)

        start = time.perf_counter()
        pool = [threading.Thread(target=worker) for _ in range(in_flight)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        return len(texts) / (time.perf_counter() - start)
    finally:
        process.terminate()
        process.wait()


def bench_workerbee(workerbee, corpus, extra):
    out = subprocess.run([workerbee, "bench", "embed", "--input", corpus, "--repeats", "1", "--json"] + extra,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True)
    parser.add_argument("--workerbee", default=".build/release/workerbee")
    home = os.environ.get("WORKERBEE_HOME", os.path.expanduser("~/.workerbee"))
    parser.add_argument("--model", default=os.path.join(home, "models", "all-minilm-l6-v2.gguf"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--shapes", default="chunks,sentences")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported")
    args = parser.parse_args()
    threads = str(args.threads)
    # name -> how to run it; every round runs each once, in this order, so drift hits all alike.
    contenders = {
        "llama-server": None,
        "one per request": ["--one-text-per-request", "--threads", threads],
        "WorkerBee": [],
        "worker 1x2": ["--workers", "1", "--threads", threads, "--batch-size", "100000"],
        "in-process 2": ["--in-process", "--threads", threads, "--batch-size", "100000"],
    }
    for shape in args.shapes.split(","):
        corpus = f"/tmp/workerbee-corpus-{shape}.jsonl"
        with open(corpus, "w") as f:
            subprocess.run([args.workerbee, "bench", "corpus", "--shape", shape, "--count", str(COUNTS[shape])], stdout=f, check=True)
        texts = [json.loads(line) for line in open(corpus)]
        rates = {name: [] for name in contenders}
        tokens = 0
        for _ in range(args.rounds):
            for name, extra in contenders.items():
                if extra is None:
                    rates[name].append(bench_server(args.server, args.model, shape, texts, args.threads))
                else:
                    result = bench_workerbee(args.workerbee, corpus, ["--model", args.model] + extra)
                    rates[name].append(result["textsPerSecond"])
                    tokens = result["tokens"]
        m = {name: median(values) for name, values in rates.items()}
        print(f"\n{shape}: {len(texts)} texts, {tokens / len(texts):.1f} tokens/text, median of {args.rounds} interleaved rounds (texts/s)")
        for name, values in rates.items():
            print(f"  {name:14} {m[name]:8.1f}   ({', '.join(f'{v:.1f}' for v in values)})")
        print(f"  WorkerBee vs llama-server {m['WorkerBee'] / m['llama-server']:.2f}x, vs one text per request {m['WorkerBee'] / m['one per request']:.2f}x; "
              f"worker 1x2 vs in-process {m['worker 1x2'] / m['in-process 2']:.2%}")


if __name__ == "__main__":
    sys.exit(main())
