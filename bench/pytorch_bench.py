#!/usr/bin/python3
"""The same bench cases as `softprompt bench`, in PyTorch (Debian python3-torch 1.13), for a side-by-side ratio.

GPT-2-small shape by default (12 layers, 768 wide, 12 heads, vocab 50257; --layers, --width, --heads, --vocab, --batch,
--tokens and --prompt-tokens as `softprompt bench` takes them), batch 4 x 128 tokens, 20 soft-prompt positions, 2 threads: prompt-tuning step (frozen model, prompt trainable, AdamW), full fine-tuning step, inference forward,
decode ms/token at batch 1 with a KV cache. Prints one JSON line per case (median of the timed runs) and the peak RSS,
after a first line naming the BLAS library the process loaded (Debian's torch calls whatever libblas.so.3 the
alternatives system points at: the reference BLAS unless an optimised one such as libopenblas0-openmp is installed).
`--dtype bfloat16` runs every case under CPU autocast to bf16 (the matrices in bf16, master weights fp32).
`--dtype int8` runs the forward and decode cases on the model after torch.ao.quantization.quantize_dynamic (every
Linear, the LM head's copy among them, in int8 with a scale per output channel; activations quantized per call).
The model is written here (not taken from a library) so both sides run the same arithmetic.
"""
import contextlib
import gc
import argparse
import json
import math
import os
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x, cache=None):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        if cache is not None:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        s = k.shape[2]
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)
        mask = torch.ones(t, s, dtype=torch.bool).tril(s - t)
        scores = scores.masked_fill(~mask, float("-inf"))
        y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class Gpt2(nn.Module):
    def __init__(self, layers=12, d=768, heads=12, vocab=50257, positions=1024):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(positions, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.head = None  # --dtype int8: a Linear sharing wte's weight, so that dynamic quantization covers the LM head

    def hidden(self, embeddings, past=0, caches=None):
        t = embeddings.shape[1]
        x = embeddings + self.wpe(torch.arange(past, past + t))
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        return self.ln_f(x)

    def logits(self, h):
        return self.head(h) if self.head is not None else h @ self.wte.weight.T


def timed(step, repeats):
    step()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cases", default="prompt,ft,forward,decode")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "int8"])
    # the model's shape, as `softprompt bench` takes it (GPT-2 small by default)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--width", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--prompt-tokens", type=int, default=20)
    a = ap.parse_args()
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if a.dtype == "bfloat16" else contextlib.nullcontext
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    batch, tokens, prompt_tokens, vocab = a.batch, a.tokens, a.prompt_tokens, a.vocab
    model = Gpt2(a.layers, a.width, a.heads, vocab)
    if a.dtype == "int8":
        # PyTorch's own int8 inference: dynamic quantization (int8 weights with a scale per output channel,
        # activations quantized per call), for the cases that only run the model.
        if set(a.cases.split(",")) - {"forward", "decode"}:
            raise SystemExit("--dtype int8 runs the forward and decode cases only")
        model.head = nn.Linear(a.width, vocab, bias=False)
        model.head.weight = model.wte.weight
        model = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    ids = torch.randint(vocab, (batch, tokens))
    targets = torch.cat([ids[:, 1:], torch.full((batch, 1), -100)], 1)

    torch.ones(64, 64) @ torch.ones(64, 64)  # loads the BLAS
    print(json.dumps({"case": "blas", "library": blas_library(), "torch": torch.__version__, "dtype": a.dtype,
                      "quantized_engine": torch.backends.quantized.engine}), flush=True)

    def emit(case, result):
        print(json.dumps({"case": case, "median_ms": round(result[0], 1), "min_ms": round(result[1], 1), "dtype": a.dtype,
                          "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                          "step_peak_rss_mb": resident_peak_mb(), "threads": a.threads}), flush=True)

    for case in a.cases.split(","):
        # The case's own peak (step_peak_rss_mb), as `softprompt bench` measures it: the model held now and what
        # the case's steps add.
        gc.collect()
        reset_resident_peak()
        if case == "prompt":
            model.requires_grad_(False)
            prompt = nn.Parameter(torch.empty(prompt_tokens, a.width).uniform_(-0.5, 0.5))
            opt = torch.optim.AdamW([prompt], lr=0.3, weight_decay=0)

            def step():
                with autocast():
                    x = torch.cat([prompt.expand(batch, -1, -1), model.wte(ids)], 1)
                    h = model.hidden(x)[:, prompt_tokens:]
                    loss = F.cross_entropy(model.logits(h).reshape(-1, vocab).float(), targets.reshape(-1), ignore_index=-100)
                loss.backward()
                opt.step()
                opt.zero_grad()
            emit("prompt_tuning_step", timed(step, a.repeats))
        elif case == "ft":
            model.requires_grad_(True)
            opt = torch.optim.AdamW(model.parameters(), lr=1e-5)

            def step():
                with autocast():
                    logits = model.logits(model.hidden(model.wte(ids))).reshape(-1, vocab).float()
                    loss = F.cross_entropy(logits, targets.reshape(-1), ignore_index=-100)
                loss.backward()
                opt.step()
                opt.zero_grad()
            emit("full_finetune_step", timed(step, a.repeats))
            model.requires_grad_(False)
        elif case == "forward":
            with torch.no_grad(), autocast():
                emit("inference_forward", timed(lambda: model.logits(model.hidden(model.wte(ids))), a.repeats))
        elif case == "decode":
            prompt_ids = torch.arange(16).unsqueeze(0) * 7919 % vocab

            def run():
                with torch.no_grad(), autocast():
                    caches = [dict() for _ in model.blocks]
                    h = model.hidden(model.wte(prompt_ids), 0, caches)
                    nxt = model.logits(h[:, -1:]).argmax(-1)
                    start = time.perf_counter()
                    for i in range(32):
                        h = model.hidden(model.wte(nxt), 16 + i, caches)
                        nxt = model.logits(h).argmax(-1)
                    return (time.perf_counter() - start) * 1000 / 32
            run()
            per_token = [run() for _ in range(a.repeats)]
            emit("decode_token_batch1", (statistics.median(per_token), min(per_token)))


def reset_resident_peak():
    """Starts VmHWM again from the resident memory now (Linux: "5" into /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def resident_peak_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return None


def blas_library():
    """The BLAS shared object this process has mapped (after a matrix product), resolved through its links."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
    names = sorted(os.path.realpath(p) for p in paths)
    core = openblas_core([p for p in names if "openblas" in p])
    return (", ".join(names) or "none mapped (torch's own kernels)") + (f" (OpenBLAS kernels: {core})" if core else "")


def openblas_core(libraries):
    """The kernel set OpenBLAS chose for this CPU (or OPENBLAS_CORETYPE forced): OpenBLAS 0.3.21 takes AMD's AVX-512
    Zen 4 for Haswell and runs AVX2 kernels there, at half the FMA rate."""
    import ctypes
    for path in libraries:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return None


if __name__ == "__main__":
    main()
