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
# Ours twice: float32 weights, then the frozen cases with --weights bf16 (block matrices and the LM head's products in
# the bfloat16 kernels; full fine-tuning trains float32 weights either way). Each in its own process, so that each
# column's peak RSS is its own.
bench() { dotnet src/SoftPrompt.Cli/bin/Release/net10.0/softprompt.dll bench --repeats "$repeats" --threads "$threads" "$@"; }
ours=$(bench --cases peak,prompt,ft,forward,decode --weights fp32)
ours_small=$(bench --cases ft,forward "${small[@]}" --weights fp32)
ours_bf16=$(bench --cases prompt --weights bf16; bench --cases forward --weights bf16; bench --cases decode --weights bf16)
# The prompt step again with --recompute (each block run again in backward instead of keeping its activations).
ours_recompute=$(bench --cases prompt --weights fp32 --recompute)
ours_bf16_recompute=$(bench --cases prompt --weights bf16 --recompute)
ours_bf16_small=$(bench --cases forward --weights bf16 "${small[@]}")
# Inference with int8 weights (--weights int8; PyTorch: dynamic quantization), forward and decode.
ours_int8=$(bench --cases forward --weights int8; bench --cases decode --weights int8)
fp32=$(/usr/bin/python3 bench/pytorch_bench.py --repeats "$repeats" --threads "$threads")
fp32_small=$(/usr/bin/python3 bench/pytorch_bench.py --cases ft,forward "${small[@]}" --repeats "$repeats" --threads "$threads")
bf16=$(/usr/bin/python3 bench/pytorch_bench.py --repeats "$repeats" --threads "$threads" --dtype bfloat16)
bf16_small=$(/usr/bin/python3 bench/pytorch_bench.py --cases ft,forward "${small[@]}" --repeats "$repeats" --threads "$threads" --dtype bfloat16)
int8=$(/usr/bin/python3 bench/pytorch_bench.py --cases forward,decode --repeats "$repeats" --threads "$threads" --dtype int8)
/usr/bin/python3 - "$ours" "$fp32" "$bf16" "$ours_small" "$fp32_small" "$bf16_small" "$ours_bf16" "$ours_bf16_small" \
  "$ours_recompute" "$ours_bf16_recompute" "$ours_int8" "$int8" <<'PY'
import json, sys
(ours, fp32, bf16, ours_small, fp32_small, bf16_small, ours_bf16, ours_bf16_small, ours_recompute,
 ours_bf16_recompute, ours_int8, int8) = ({r["case"]: r for r in map(json.loads, arg.splitlines())}
                                         for arg in sys.argv[1:13])
peak = ours["fma_peak"]["gflops"]
print(f"fp32 FMA peak measured now: {peak:.0f} GFLOP/s on {ours['fma_peak']['threads']} threads ({ours['fma_peak']['vector_bits']}-bit vectors)")
print(f"PyTorch {fp32['blas']['torch']}, BLAS: {fp32['blas']['library']}")
print("Times in ms (median); a ratio is time ÷ time, under 1 = ours faster; 'ours bf16' is --weights bf16. The floor is the")
print("case's FLOPs at the fp32 peak above (bf16 products can go under it: vdpbf16ps does twice the multiply-adds).")
print("RSS is each case's own peak: the model held when the case starts and what its steps add (VmHWM reset there).")
print(f"{'case':<26}{'ours':>8}{'ours bf16':>10}{'torch fp32':>11}{'torch bf16':>11}{'ours/fp32':>10}{'bf16/fp32':>10}"
      f"{'bf16/bf16':>10}{'floor':>7}{'ours/floor':>11}{'RSS MB ours/bf16/fp32/bf16':>29}")
cases = ["prompt_tuning_step", "full_finetune_step", "inference_forward", "decode_token_batch1"]
rows = [(case, ours[case], ours_bf16.get(case), fp32[case], bf16[case]) for case in cases]
rows.insert(1, ("prompt step, --recompute", ours_recompute["prompt_tuning_step"],
                ours_bf16_recompute["prompt_tuning_step"], fp32["prompt_tuning_step"], bf16["prompt_tuning_step"]))
rows += [("small " + case, ours_small[case], ours_bf16_small.get(case), fp32_small[case], bf16_small[case])
         for case in ["full_finetune_step", "inference_forward"]]
for case, o, h, t, b in rows:
    # decode at batch 1 is bound by memory traffic, not FLOPs: no FLOP floor for it
    floor = o["gflop"] / peak * 1000 if o.get("gflop") else None
    floor_text = f"{floor:.0f}" if floor else "–"
    versus_floor = f"{o['median_ms'] / floor:.2f}" if floor else "–"
    half = f"{h['median_ms']:.1f}" if h else "–"
    half_fp32 = f"{h['median_ms'] / t['median_ms']:.2f}" if h else "–"
    half_bf16 = f"{h['median_ms'] / b['median_ms']:.2f}" if h else "–"
    rss = (f"{o['step_peak_rss_mb']} / {h['step_peak_rss_mb'] if h else '–'} / {t['step_peak_rss_mb']} / "
           f"{b['step_peak_rss_mb']}")
    print(f"{case:<26}{o['median_ms']:>8.1f}{half:>10}{t['median_ms']:>11.1f}{b['median_ms']:>11.1f}"
          f"{o['median_ms'] / t['median_ms']:>10.2f}{half_fp32:>10}{half_bf16:>10}{floor_text:>7}{versus_floor:>11}{rss:>29}")
print()
print(f"int8 weights (inference): ours --weights int8; PyTorch quantize_dynamic (engine {int8['blas']['quantized_engine']})")
print(f"{'case':<26}{'ours int8':>10}{'torch int8':>11}{'torch fp32':>11}{'ours bf16':>10}{'int8/int8':>10}{'int8/fp32':>10}"
      f"{'RSS MB ours/torch int8':>24}")
for case in ["inference_forward", "decode_token_batch1"]:
    o, t, f, h = ours_int8[case], int8[case], fp32[case], ours_bf16[case]
    print(f"{case:<26}{o['median_ms']:>10.1f}{t['median_ms']:>11.1f}{f['median_ms']:>11.1f}{h['median_ms']:>10.1f}"
          f"{o['median_ms'] / t['median_ms']:>10.2f}{o['median_ms'] / f['median_ms']:>10.2f}"
          f"{str(o['step_peak_rss_mb']) + ' / ' + str(t['step_peak_rss_mb']):>24}")
PY
