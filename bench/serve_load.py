#!/usr/bin/env python3
"""Load and hostile-adapter figures for `softprompt serve` (issue 19), measured against a real server process.

    python3 bench/serve_load.py --model models/base-adapted --adapter spam=adapters/spam [--adapter NAME=DIR ...]

Starts `softprompt serve` on a free loopback port over a temporary adapters root holding copies of the given adapters,
then, one phase after another:

1. reference: every (adapter, text) used below classified alone, one request at a time;
2. mixed load: 64 clients send 2,000 short requests spread over the adapters; every answer is compared with its
   reference (label and probabilities), so a batching mistake shows as a wrong answer, not only as a failure;
3. overload: 300 clients at once, each one text of 20,000 characters (the server's limit); the share answered 503,
   latency percentiles of the admitted ones, and wrong answers;
4. hostile loads: 100 POST /api/adapters of adapters built to exhaust or confuse the server (a few-KB sparse file
   claiming a [1,000,000, 256] prompt, a 50 MB config, a FIFO as config, NaN weights, a config linked to a file
   outside the root, a directory link out of the root, a header claiming 2^40 bytes, a length that disagrees with the
   tensor); the server's resident memory (VmRSS, VmHWM from /proc) before and after, and a check it still answers.

Standard library only; prints a Markdown report (and --json for the raw figures). Run it with the machine to itself:
the latencies are wall-clock times of a two-core host.
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import http.client
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, timeout=600):
    """(status, parsed JSON or text, seconds, Retry-After header or None)."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        elapsed = time.perf_counter() - start
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = raw.decode("utf-8", "replace")
        return response.status, payload, elapsed, response.getheader("Retry-After")
    finally:
        conn.close()


def memory_kib(pid):
    """{'VmRSS': KiB, 'VmHWM': KiB} of a process."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            figures[key] = int(value.split()[0])
    return figures


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def same_answer(a, b):
    if a["label"] != b["label"]:
        return False
    pa = {p["label"]: p["probability"] for p in a["probabilities"]}
    pb = {p["label"]: p["probability"] for p in b["probabilities"]}
    return pa.keys() == pb.keys() and all(abs(pa[k] - pb[k]) <= 1e-4 for k in pa)


def texts_of(task_dir, count, length):
    """`count` texts of about `length` characters from a task's test split (each starts at another row)."""
    rows = [json.loads(line)["text"] for line in (task_dir / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    texts = []
    for start in range(count):
        parts, total, i = [], 0, start
        while total < length:
            parts.append(rows[i % len(rows)])
            total += len(rows[i % len(rows)]) + 1
            i += 1
        texts.append(" ".join(parts)[:length] if length else rows[start % len(rows)])
    return texts


def run_clients(port, jobs, clients):
    """Sends jobs [(task, text)] from `clients` threads started together; [(status, payload, seconds)] in job order."""
    results = [None] * len(jobs)
    barrier = threading.Barrier(clients)
    cursor = iter(range(len(jobs)))
    lock = threading.Lock()

    def client():
        barrier.wait()
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            task, text = jobs[index]
            try:
                results[index] = request(port, "POST", "/api/classify", {"task": task, "text": text})
            except OSError as e:  # a refused or reset connection is a failure, counted as such
                results[index] = (0, str(e), 0.0, None)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def write_safetensors(path, tensors, header_extra=None, claimed_bytes=None):
    """tensors: {name: (shape, float list)} as F32; claimed_bytes: declare that much data and leave the file sparse."""
    header, blobs, offset = {}, [], 0
    for name, (shape, values) in tensors.items():
        size = 4 * (claimed_bytes // 4 if claimed_bytes else len(values))
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + size]}
        blobs.append(struct.pack(f"<{len(values)}f", *values))
        offset += size
    if header_extra:
        header.update(header_extra)
    raw = json.dumps(header).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        for blob in blobs:
            f.write(blob)
    if claimed_bytes:
        os.truncate(path, 8 + len(raw) + claimed_bytes)  # sparse: a few KB on disk


def hostile_adapters(root, template, outside):
    """Builds the hostile adapter folders inside `root` from a real prompt adapter; {name: what it tries}."""
    config = json.loads((template / "adapter_config.json").read_text())
    width = config["token_dim"]
    kinds = {}

    def folder(name, purpose, with_task=True):
        path = root / name
        path.mkdir()
        if with_task and (template / "softprompt_task.json").exists():
            shutil.copy(template / "softprompt_task.json", path / "softprompt_task.json")
        kinds[name] = purpose
        return path

    def write_config(path, **changes):
        (path / "adapter_config.json").write_text(json.dumps({**config, **changes}))

    p = folder("huge-prompt", "a sparse few-KB file claiming a [1000000, width] prompt")
    write_config(p, num_virtual_tokens=1_000_000)
    write_safetensors(p / "adapter_model.safetensors", {"prompt_embeddings": ([1_000_000, width], [0.0] * width)},
                      claimed_bytes=4 * 1_000_000 * width)
    p = folder("big-config", "a 50 MB adapter_config.json of small objects")
    with open(p / "adapter_config.json", "w") as f:
        f.write('{"peft_type": "PROMPT_TUNING", "padding": [')
        f.write(",".join(['{"a": 1}'] * 6_000_000))
        f.write("]}")
    shutil.copy(template / "adapter_model.safetensors", p / "adapter_model.safetensors")
    p = folder("fifo-config", "a FIFO as adapter_config.json")
    os.mkfifo(p / "adapter_config.json")
    shutil.copy(template / "adapter_model.safetensors", p / "adapter_model.safetensors")
    p = folder("nan-prompt", "NaN prompt weights")
    write_config(p)
    count = config["num_virtual_tokens"]
    write_safetensors(p / "adapter_model.safetensors", {"prompt_embeddings": ([count, width], [float("nan")] * (count * width))})
    p = folder("linked-config", "adapter_config.json linked to a file outside the root")
    os.symlink(outside, p / "adapter_config.json")
    shutil.copy(template / "adapter_model.safetensors", p / "adapter_model.safetensors")
    os.symlink(template.resolve().parent, root / "linked-folder")  # a directory link out of the root
    kinds["linked-folder"] = "a directory link leading out of the root"
    p = folder("huge-header", "a safetensors header claiming 2^40 bytes")
    write_config(p)
    (p / "adapter_model.safetensors").write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
    p = folder("wrong-length", "num_virtual_tokens 8 beside a 20-row tensor")
    write_config(p, num_virtual_tokens=8)
    shutil.copy(template / "adapter_model.safetensors", p / "adapter_model.safetensors")
    return kinds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(REPO / "models/base-adapted"))
    parser.add_argument("--adapter", action="append", required=True, help="NAME=DIR of a classification adapter")
    parser.add_argument("--task-data", default=str(REPO / "data/tasks/spam"), help="a task folder whose test texts are sent")
    parser.add_argument("--softprompt", default=f"dotnet {REPO}/src/SoftPrompt.Cli/bin/Release/net10.0/softprompt.dll")
    parser.add_argument("--max-queue", type=int, default=None, help="passed to serve --max-queue")
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--chars", type=int, default=20_000)
    parser.add_argument("--mixed-clients", type=int, default=64)
    parser.add_argument("--mixed-requests", type=int, default=2000)
    parser.add_argument("--hostile-loads", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="serve-load-"))
    root = work / "adapters"
    root.mkdir()
    names = []
    for spec in args.adapter:
        name, _, directory = spec.partition("=")
        shutil.copytree(directory, root / name, ignore=shutil.ignore_patterns("checkpoint*"))
        names.append(name)
    outside = work / "outside.json"
    outside.write_text('{"peft_type": "PROMPT_TUNING", "secret": "outside the root"}')

    port = free_port()
    command = args.softprompt.split() + ["serve", "--model", args.model, "--adapters", str(root), "--port", str(port),
                                         "--allow-adapter-loading"]
    if args.max_queue:
        command += ["--max-queue", str(args.max_queue)]
    log = open(work / "serve.log", "w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    report = {"command": " ".join(command), "adapters": names}
    try:
        for _ in range(600):
            try:
                if request(port, "GET", "/api/tasks", timeout=2)[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"the server did not start; see {work}/serve.log")
        report["rss_at_start_kib"] = memory_kib(server.pid)

        task_dir = Path(args.task_data)
        short = texts_of(task_dir, 250, 0)
        long = texts_of(task_dir, args.clients, args.chars)
        mixed_jobs = [(names[i % len(names)], short[(i * 7) % len(short)]) for i in range(args.mixed_requests)]
        long_jobs = [(names[i % len(names)], text) for i, text in enumerate(long)]

        # 1. Reference answers, one request at a time.
        reference = {}
        for job in set(mixed_jobs) | set(long_jobs):
            status, payload, _, _ = request(port, "POST", "/api/classify", {"task": job[0], "text": job[1]})
            if status != 200:
                raise SystemExit(f"reference request for {job[0]} failed: {status} {payload}")
            reference[job] = payload
        report["reference_requests"] = len(reference)

        def summary(jobs, results):
            admitted = [r for r in results if r[0] == 200]
            seconds = [r[2] for r in admitted]
            statuses = {}
            for r in results:
                statuses[str(r[0])] = statuses.get(str(r[0]), 0) + 1
            wrong = sum(1 for job, r in zip(jobs, results) if r[0] == 200 and not same_answer(r[1], reference[job]))
            return {"requests": len(results), "statuses": statuses, "admitted": len(admitted),
                    "refused_503_share": statuses.get("503", 0) / len(results),
                    "503_without_retry_after": sum(1 for r in results if r[0] == 503 and not r[3]),
                    "wrong_answers": wrong,
                    "p50_s": percentile(seconds, 0.5) if seconds else None,
                    "p95_s": percentile(seconds, 0.95) if seconds else None,
                    "max_s": max(seconds) if seconds else None,
                    "mean_s": statistics.fmean(seconds) if seconds else None}

        # 2. Mixed load of short texts.
        start = time.perf_counter()
        results = run_clients(port, mixed_jobs, args.mixed_clients)
        report["mixed"] = {**summary(mixed_jobs, results), "clients": args.mixed_clients,
                           "wall_s": time.perf_counter() - start}

        # 3. Overload: every client one long text, all at once.
        start = time.perf_counter()
        results = run_clients(port, long_jobs, args.clients)
        report["overload"] = {**summary(long_jobs, results), "clients": args.clients, "chars": args.chars,
                              "wall_s": time.perf_counter() - start}
        report["rss_after_load_kib"] = memory_kib(server.pid)

        # 4. Hostile adapter loads.
        kinds = hostile_adapters(root, root / names[0], outside)
        before = memory_kib(server.pid)
        outcomes = {}
        kind_names = sorted(kinds)
        start = time.perf_counter()
        for i in range(args.hostile_loads):
            name = kind_names[i % len(kind_names)]
            status, payload, seconds, _ = request(port, "POST", "/api/adapters",
                                               {"name": f"h{i}", "path": str(root / name)}, timeout=60)
            entry = outcomes.setdefault(name, {"tries": kinds[name], "statuses": {}, "slowest_s": 0.0, "message": None})
            entry["statuses"][str(status)] = entry["statuses"].get(str(status), 0) + 1
            entry["slowest_s"] = max(entry["slowest_s"], seconds)
            entry["message"] = payload.get("error") if isinstance(payload, dict) else str(payload)[:200]
        after = memory_kib(server.pid)
        status, payload, _, _ = request(port, "POST", "/api/classify", {"task": names[0], "text": short[0]})
        served = [t["name"] if isinstance(t, dict) else t for t in request(port, "GET", "/api/tasks")[1]]
        report["hostile"] = {"loads": args.hostile_loads, "seconds": time.perf_counter() - start, "kinds": outcomes,
                             "rss_before_kib": before, "rss_after_kib": after,
                             "still_answers_correctly": status == 200 and same_answer(payload, reference[(names[0], short[0])]),
                             "adapters_served_after": served}
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(work, ignore_errors=True)

    if args.json:
        print(json.dumps(report, indent=1))
        return
    mib = lambda kib: f"{kib / 1024:,.0f} MiB"
    print(f"server: `{report['command']}`\n")
    print("| phase | clients | requests | 200 | 503 share | 503 without Retry-After | other | wrong answers | p50 s | p95 s | max s | wall s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for phase in ("mixed", "overload"):
        r = report[phase]
        other = {k: v for k, v in r["statuses"].items() if k not in ("200", "503")}
        print(f"| {phase} | {r['clients']} | {r['requests']:,} | {r['admitted']:,} | {100 * r['refused_503_share']:.1f} % | {r['503_without_retry_after']} | "
              f"{other or '–'} | {r['wrong_answers']} | {r['p50_s']:.2f} | {r['p95_s']:.2f} | {r['max_s']:.2f} | {r['wall_s']:.1f} |")
    h = report["hostile"]
    print(f"\nHostile loads: {h['loads']} in {h['seconds']:.1f} s; resident memory {mib(h['rss_before_kib']['VmRSS'])} before, "
          f"{mib(h['rss_after_kib']['VmRSS'])} after (peak over the whole run {mib(h['rss_after_kib']['VmHWM'])}, "
          f"at start {mib(report['rss_at_start_kib']['VmRSS'])}); still answers as before: {h['still_answers_correctly']}; "
          f"served afterwards: {', '.join(h['adapters_served_after'])}.\n")
    print("| adapter | what it tries | answers | slowest s | message |")
    print("| --- | --- | --- | ---: | --- |")
    for name, o in sorted(h["kinds"].items()):
        print(f"| {name} | {o['tries']} | {o['statuses']} | {o['slowest_s']:.2f} | {(o['message'] or '').replace('|', '/')[:140]} |")


if __name__ == "__main__":
    main()
