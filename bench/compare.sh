#!/usr/bin/env bash
# Runs softprompt's bench and PyTorch's (bench/pytorch_bench.py, fp32 and bf16 autocast) on the same cases, one after
# the other, on an otherwise idle machine (nothing else running: helpers, builds and tests beside it spoil the figures).
# Prints per case: ours, PyTorch fp32 and bf16, the ratios, and the case's floor — its FLOPs at this host's fp32 FMA
# peak, measured in the same run (hosts differ from day to day) — and which BLAS PyTorch used.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c "import torch" 2> /dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch > /dev/null
fi
# Debian's torch calls libblas.so.3: without an optimised BLAS that is the reference one, ~25x slower — no anchor at all.
if ! dpkg -s libopenblas0-openmp > /dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libopenblas0-openmp > /dev/null
fi
# OpenBLAS 0.3.21 (Debian 12) runs AVX2 "Haswell" kernels on AMD CPUs with AVX-512; OPENBLAS_CORETYPE=SkylakeX makes it
# use its AVX-512 kernels, the fairer anchor on such a host. The kernel set in use is printed with the BLAS.
repeats="${REPEATS:-5}"
threads="${THREADS:-2}"
dotnet build src/SoftPrompt.Cli -c Release -v quiet -nologo > /dev/null
# The GPT-2-small cases, then the same step at base-small's shape (6 x 256, vocab 8,192, 10 rows of 256 tokens — a
# pretraining step is a full fine-tuning step), where short rows and narrow matrices use the cores worse.
small=(--layers 6 --width 256 --heads 8 --vocab 8192 --batch 10 --tokens 256)
ours=$(dotnet src/SoftPrompt.Cli/bin/Release/net10.0/softprompt.dll bench --cases peak,prompt,ft,forward,decode --repeats "$repeats" --threads "$threads")
ours_small=$(dotnet src/SoftPrompt.Cli/bin/Release/net10.0/softprompt.dll bench --cases ft,forward "${small[@]}" --repeats "$repeats" --threads "$threads")
fp32=$(/usr/bin/python3 bench/pytorch_bench.py --repeats "$repeats" --threads "$threads")
fp32_small=$(/usr/bin/python3 bench/pytorch_bench.py --cases ft,forward "${small[@]}" --repeats "$repeats" --threads "$threads")
bf16=$(/usr/bin/python3 bench/pytorch_bench.py --repeats "$repeats" --threads "$threads" --dtype bfloat16)
bf16_small=$(/usr/bin/python3 bench/pytorch_bench.py --cases ft,forward "${small[@]}" --repeats "$repeats" --threads "$threads" --dtype bfloat16)
/usr/bin/python3 - "$ours" "$fp32" "$bf16" "$ours_small" "$fp32_small" "$bf16_small" <<'PY'
import json, sys
ours, fp32, bf16, ours_small, fp32_small, bf16_small = ({r["case"]: r for r in map(json.loads, arg.splitlines())} for arg in sys.argv[1:7])
peak = ours["fma_peak"]["gflops"]
print(f"fp32 FMA peak measured now: {peak:.0f} GFLOP/s on {ours['fma_peak']['threads']} threads ({ours['fma_peak']['vector_bits']}-bit vectors)")
print(f"PyTorch {fp32['blas']['torch']}, BLAS: {fp32['blas']['library']}")
print(f"{'case':<26}{'ours ms':>9}{'torch fp32':>12}{'torch bf16':>12}{'ours/fp32':>11}{'ours/bf16':>11}{'floor ms':>10}{'ours/floor':>12}"
      f"{'RSS MB ours/fp32/bf16':>24}")
rows = [(case, ours[case], fp32[case], bf16[case]) for case in ["prompt_tuning_step", "full_finetune_step", "inference_forward", "decode_token_batch1"]]
rows += [("small " + case, ours_small[case], fp32_small[case], bf16_small[case]) for case in ["full_finetune_step", "inference_forward"]]
for case, o, t, b in rows:
    # decode at batch 1 is bound by memory traffic, not FLOPs: no FLOP floor for it
    floor = o["gflop"] / peak * 1000 if o.get("gflop") else None
    floor_text = f"{floor:.0f}" if floor else "–"
    versus_floor = f"{o['median_ms'] / floor:.2f}" if floor else "–"
    rss = f"{o.get('peak_rss_mb')} / {t['peak_rss_mb']} / {b['peak_rss_mb']}"
    print(f"{case:<26}{o['median_ms']:>9.1f}{t['median_ms']:>12.1f}{b['median_ms']:>12.1f}{o['median_ms'] / t['median_ms']:>11.2f}"
          f"{o['median_ms'] / b['median_ms']:>11.2f}{floor_text:>10}{versus_floor:>12}{rss:>24}")
PY
