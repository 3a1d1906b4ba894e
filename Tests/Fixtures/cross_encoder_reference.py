#!/usr/bin/env python3
"""Independent reference for BERT cross-encoder (reranker) logits.

Swift tests use it to check that a GGUF reranker served through llama.cpp gives
the same logits as the original Hugging Face BertForSequenceClassification
model. Only the standard library and numpy are used (no torch/transformers):
safetensors parsing, BertTokenizer-style WordPiece and a float64 forward pass.

Usage: python3 cross_encoder_reference.py MODEL_DIR < request.json > answer.json
  request: {"pairs": [{"query": str, "document": str}, ...], "max_length": int?, "pooler": bool? (default true)}
  answer:  {"logits": [[float]*num_labels], "tokens": [[id]], "types": [[0|1]]}
"""
import json, math, os, struct, sys, unicodedata

import numpy as np


def fail(msg):
    print(f"cross_encoder_reference: {msg}", file=sys.stderr)
    sys.exit(1)


def read_json(path):
    if not os.path.isfile(path):
        fail(f"missing file {path}")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class SafeTensors:
    DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8"}

    def __init__(self, path):
        if not os.path.isfile(path):
            fail(f"missing file {path}")
        with open(path, "rb") as f:
            blob = f.read()
        (n,) = struct.unpack("<Q", blob[:8])
        self.header = {k: v for k, v in json.loads(blob[8:8 + n]).items() if k != "__metadata__"}
        self.data = memoryview(blob)[8 + n:]

    def get(self, *names):
        for name in names:
            for full in (name, "bert." + name):
                if full in self.header:
                    return self._decode(full)
        fail(f"unknown/missing tensor {names[0]} (tried {', '.join(names)}, with and without 'bert.')")

    def _decode(self, name):
        info = self.header[name]
        a, b = info["data_offsets"]
        raw, dt = self.data[a:b], info["dtype"]
        if dt == "BF16":
            arr = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        elif dt in self.DTYPES:
            arr = np.frombuffer(raw, self.DTYPES[dt])
        else:
            fail(f"tensor {name} has unsupported dtype {dt}")
        return arr.astype(np.float64).reshape(info["shape"])


CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
       (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


class WordPiece:
    def __init__(self, model_dir):
        tok = read_json(os.path.join(model_dir, "tokenizer.json"))
        model = tok["model"]
        self.vocab = model["vocab"]
        self.unk = model.get("unk_token", "[UNK]")
        self.prefix = model.get("continuing_subword_prefix") or "##"
        self.max_chars = model.get("max_input_chars_per_word", 100)
        self.lower, self.strip, self.chinese, self.clean = True, False, True, True
        norm = tok.get("normalizer")
        if norm is not None:  # explicit normalizer info: only do what it asks
            self.lower = self.chinese = self.clean = False
            for n in norm.get("normalizers", [norm]) if norm.get("type") == "Sequence" else [norm]:
                t = n.get("type")
                if t == "BertNormalizer":
                    self.lower = bool(n.get("lowercase", True))
                    sa = n.get("strip_accents")
                    self.strip = self.lower if sa is None else bool(sa)  # HF: None follows lowercase
                    self.chinese = bool(n.get("handle_chinese_chars", True))
                    self.clean = bool(n.get("clean_text", True))
                elif t == "Lowercase":
                    self.lower = True
                elif t == "StripAccents":
                    self.strip = True
        self.added = sorted((a["content"] for a in tok.get("added_tokens", []) if a.get("special")
                             and a["content"] in self.vocab), key=len, reverse=True)
        stm_path = os.path.join(model_dir, "special_tokens_map.json")
        stm = read_json(stm_path) if os.path.isfile(stm_path) else {}
        pick = lambda k, d: (stm.get(k, d)["content"] if isinstance(stm.get(k, d), dict) else stm.get(k, d))
        self.cls_id, self.sep_id = self.id(pick("cls_token", "[CLS]")), self.id(pick("sep_token", "[SEP]"))

    def id(self, token):
        if token not in self.vocab:
            fail(f"token {token!r} not in vocab")
        return self.vocab[token]

    @staticmethod
    def is_punct(ch):
        c = ord(ch)
        return 33 <= c <= 47 or 58 <= c <= 64 or 91 <= c <= 96 or 123 <= c <= 126 \
            or unicodedata.category(ch).startswith("P")

    def normalize(self, text):
        out = []
        for ch in text:
            cat = unicodedata.category(ch)
            if self.clean:
                if ord(ch) in (0, 0xFFFD) or (cat.startswith("C") and ch not in "\t\n\r"):
                    continue
                if ch.isspace():
                    ch = " "
            out.append(f" {ch} " if self.chinese and any(a <= ord(ch) <= b for a, b in CJK) else ch)
        text = "".join(out)
        if self.strip:  # same order as tokenizers' BertNormalizer: strip accents, then lowercase
            text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
        return text.lower() if self.lower else text

    def wordpiece(self, word):
        if len(word) > self.max_chars:
            return [self.vocab[self.unk]]
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                if piece in self.vocab:
                    ids.append(self.vocab[piece])
                    break
                end -= 1
            if end == start:
                return [self.vocab[self.unk]]
            start = end
        return ids

    def encode_text(self, text):
        for tok in self.added:  # special tokens written literally are never split
            if tok in text:
                head, _, tail = text.partition(tok)
                return self.encode_text(head) + [self.vocab[tok]] + self.encode_text(tail)
        words = "".join(f" {c} " if self.is_punct(c) else c for c in self.normalize(text)).split()
        return [i for w in words for i in self.wordpiece(w)]

    def encode_pair(self, query, document, max_length=None):
        q, d = self.encode_text(query), self.encode_text(document)
        if max_length is not None:  # cut the document from its end first, then the query
            excess = max(0, len(q) + len(d) + 3 - max_length)
            cut = min(excess, len(d))
            d, q = d[:len(d) - cut], q[:max(0, len(q) - (excess - cut))]
        ids = [self.cls_id] + q + [self.sep_id] + d + [self.sep_id]
        return ids, [0] * (len(q) + 2) + [1] * (len(d) + 1)


_erf = np.frompyfunc(math.erf, 1, 1)
ACTS = {"gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64)),
        "relu": lambda x: np.maximum(x, 0.0),
        "gelu_new": lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))}
ACTS["gelu_pytorch_tanh"] = ACTS["gelu_new"]


class Bert:
    def __init__(self, model_dir):
        self.cfg = read_json(os.path.join(model_dir, "config.json"))
        self.st = SafeTensors(os.path.join(model_dir, "model.safetensors"))
        self.eps = float(self.cfg.get("layer_norm_eps", 1e-12))
        self.heads = int(self.cfg["num_attention_heads"])
        act = self.cfg.get("hidden_act", "gelu")
        if act not in ACTS:
            fail(f"unsupported hidden_act {act!r}")
        self.act = ACTS[act]

    def linear(self, x, name):
        return x @ self.st.get(name + ".weight").T + self.st.get(name + ".bias")

    def norm(self, x, name):
        g, b = self.st.get(name + ".weight", name + ".gamma"), self.st.get(name + ".bias", name + ".beta")
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + self.eps) * g + b

    def logits(self, ids, types, pooler=True):
        n = len(ids)
        if n > int(self.cfg.get("max_position_embeddings", n)):
            fail(f"sequence of {n} tokens exceeds max_position_embeddings; pass max_length")
        e = "embeddings."
        h = (self.st.get(e + "word_embeddings.weight")[ids] + self.st.get(e + "token_type_embeddings.weight")[types]
             + self.st.get(e + "position_embeddings.weight")[:n])
        h = self.norm(h, e + "LayerNorm")
        H = h.shape[1]
        hd = H // self.heads
        for i in range(int(self.cfg["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            split = lambda t: t.reshape(n, self.heads, hd).transpose(1, 0, 2)
            q, k, v = (split(self.linear(h, p + "attention.self." + w)) for w in ("query", "key", "value"))
            s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
            s = np.exp(s - s.max(-1, keepdims=True))
            ctx = ((s / s.sum(-1, keepdims=True)) @ v).transpose(1, 0, 2).reshape(n, H)
            h = self.norm(self.linear(ctx, p + "attention.output.dense") + h, p + "attention.output.LayerNorm")
            inter = self.act(self.linear(h, p + "intermediate.dense"))
            h = self.norm(self.linear(inter, p + "output.dense") + h, p + "output.LayerNorm")
        # Without the pooler: the classifier straight on [CLS], as a GGUF that lost its pooler computes.
        pooled = np.tanh(self.linear(h[0], "pooler.dense")) if pooler else h[0]
        return self.linear(pooled, "classifier")


def main():
    if len(sys.argv) != 2:
        fail("usage: cross_encoder_reference.py MODEL_DIR < request.json > answer.json")
    model_dir = sys.argv[1]
    if not os.path.isdir(model_dir):
        fail(f"missing model directory {model_dir}")
    try:
        req = json.load(sys.stdin)
    except json.JSONDecodeError as err:
        fail(f"bad request JSON: {err}")
    tok, bert = WordPiece(model_dir), Bert(model_dir)
    answer = {"logits": [], "tokens": [], "types": []}
    for pair in req.get("pairs", []):
        ids, types = tok.encode_pair(pair["query"], pair["document"], req.get("max_length"))
        answer["logits"].append([float(x) for x in np.atleast_1d(bert.logits(ids, types, req.get("pooler", True)))])
        answer["tokens"].append(ids)
        answer["types"].append(types)
    json.dump(answer, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
