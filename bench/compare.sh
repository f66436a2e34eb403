#!/usr/bin/env bash
# Runs softprompt's bench and PyTorch's (bench/pytorch_bench.py) on the same cases, one after the other on an
# otherwise idle machine, and prints ours, PyTorch's, the ratio and the FLOP floor per case.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c "import torch" 2> /dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch > /dev/null
fi
repeats="${REPEATS:-5}"
dotnet build src/SoftPrompt.Cli -c Release -v quiet -nologo > /dev/null
ours=$(dotnet src/SoftPrompt.Cli/bin/Release/net10.0/softprompt.dll bench --cases prompt,ft,forward,decode --repeats "$repeats")
theirs=$(/usr/bin/python3 bench/pytorch_bench.py --repeats "$repeats")
/usr/bin/python3 - "$ours" "$theirs" <<'PY'
import json, sys
ours = {r["case"]: r for r in map(json.loads, sys.argv[1].splitlines())}
theirs = {r["case"]: r for r in map(json.loads, sys.argv[2].splitlines())}
floors = {"prompt_tuning_step": 720, "full_finetune_step": 970, "inference_forward": 320, "decode_token_batch1": 14}
print(f"{'case':<22}{'softprompt ms':>15}{'PyTorch ms':>12}{'ratio':>8}{'floor ms':>10}{'ours/floor':>12}{'RSS MB ours/torch':>20}")
for case, floor in floors.items():
    o, t = ours[case], theirs[case]
    print(f"{case:<22}{o['median_ms']:>15.1f}{t['median_ms']:>12.1f}{o['median_ms'] / t['median_ms']:>8.2f}{floor:>10}"
          f"{o['median_ms'] / floor:>12.2f}{str(o.get('peak_rss_mb')) + ' / ' + str(t['peak_rss_mb']):>20}")
PY
