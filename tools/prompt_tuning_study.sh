#!/usr/bin/env bash
# The seeds' prompt-tuning study on one base model and one classification task: class-label vs sampled-vocabulary
# vs uniform init (3 seeds each), prompt length {1, 5, 20, 100}, and an ensemble of 5 prompts vs its best member,
# all at the same steps. Each run is `softprompt tune` (its JSON line kept in OUT/runs.jsonl); runs already in that
# file are skipped, so a stopped study continues where it was. Writes OUT/README.md with the tables.
#
#   bash tools/prompt_tuning_study.sh [MODEL] [TASK] [OUT] [STEPS]      (TEST_EXAMPLES=N scores N test examples, 0 = all;
#                                                                        DATA=DIR: the folder holding the task folders;
#                                                                        SOFTPROMPT_DLL=PATH: another build of softprompt.dll)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
model="${1:-models/base-small}" task="${2:-food-reviews}" out="${3:-reports/prompt-tuning-study}" steps="${4:-200}"
test_examples="${TEST_EXAMPLES:-0}" data="${DATA:-data/tasks}"
cli=(dotnet "${SOFTPROMPT_DLL:-$repo/src/SoftPrompt.Cli/bin/Release/net10.0/softprompt.dll}")
mkdir -p "$out/adapters"
runs="$out/runs.jsonl"
touch "$runs"

tune() { # NAME, then tune options
  local name="$1"; shift
  if grep -q "\"run\":\"$name\"" "$runs"; then return; fi
  local line
  line=$("${cli[@]}" tune --model "$model" --task "$task" --data "$data" --steps "$steps" --test-examples "$test_examples" --out "$out/adapters/$name" --json "$@" 2> "$out/adapters/$name.log")
  echo "{\"run\":\"$name\",\"options\":\"$*\",\"result\":$line}" >> "$runs"
  echo "$name: $line" >&2
}

for init in labels vocab uniform; do
  for seed in 1 2 3; do tune "init-$init-seed$seed" --init "$init" --seed "$seed"; done
done
for length in 1 5 100; do tune "length-$length" --init labels --seed 1 --prompt-length "$length"; done
for seed in 4 5; do tune "init-labels-seed$seed" --init labels --seed "$seed"; done
if ! grep -q '"run":"ensemble"' "$runs"; then
  members=$(printf "$out/adapters/init-labels-seed%s," 1 2 3 4 5)
  line=$("${cli[@]}" eval --model "$model" --task "$task" --data "$data" --split test --examples "$test_examples" --ensemble "${members%,}" --json 2> "$out/ensemble.log")
  echo "{\"run\":\"ensemble\",\"options\":\"5 class-label prompts, seeds 1-5\",\"result\":$line}" >> "$runs"
fi
python3 "$repo/tools/prompt_tuning_report.py" "$runs" "$model" "$task" "$steps" > "$out/README.md"
echo "wrote $out/README.md" >&2
