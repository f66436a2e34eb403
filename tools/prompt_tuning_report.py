#!/usr/bin/env python3
"""Tables of tools/prompt_tuning_study.sh's runs (runs.jsonl) as markdown: init × seeds (mean ± sd), prompt
length, ensemble vs best member. Standard library only."""
import json
import statistics
import sys

runs_path, model, task, steps = sys.argv[1:5]
runs = {r["run"]: r for r in map(json.loads, open(runs_path, encoding="utf-8"))}
first = next(r["result"] for r in runs.values() if "test_accuracy" in r["result"])
majority, majority_f1 = first["majority_accuracy"], first.get("majority_macro_f1", float("nan"))
zero_shot, zero_shot_f1 = first["zero_shot_accuracy"], first["zero_shot_macro_f1"]


def pct(x):
    return f"{100 * x:.1f} %"


def spread(values, fmt):
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(statistics.mean(values))} ± {fmt(statistics.stdev(values)).rstrip(' %')}"


print(f"# Prompt tuning on {model}: {task}\n")
lr = first.get("learning_rate")
lr_text = f"Adafactor lr {lr:.2g} (sized to the embeddings)" if lr else "Adafactor lr 0.3"
loss_text = {"labels": ", the label-choice loss", "vocabulary": ", the vocabulary loss"}.get(first.get("loss"), "")
print(f"Written by `bash tools/prompt_tuning_study.sh {model} {task}` ({steps} steps each, batch 8, {lr_text}{loss_text},"
      f" 20 prompt vectors unless said; best validation checkpoint scored on {first['test_examples']:,} test examples).\n")
print(f"Baselines on the same test examples: majority class \"{first['majority_class']}\" {pct(majority)} (macro-F1 "
      f"{majority_f1:.3f}); the task's template without a prompt (zero-shot) {pct(zero_shot)} (macro-F1 {zero_shot_f1:.3f}).\n")
print("## Initialisation (3 seeds each)\n")
print("| init | test accuracy | macro-F1 | per seed |")
print("| --- | ---: | ---: | --- |")
means = {}
for init in ("labels", "vocab", "uniform"):
    rows = [runs[f"init-{init}-seed{s}"]["result"] for s in (1, 2, 3) if f"init-{init}-seed{s}" in runs]
    if not rows:
        continue
    acc = [r["test_accuracy"] for r in rows]
    f1 = [r["test_macro_f1"] for r in rows]
    means[init] = statistics.mean(acc)
    print(f"| {init} | {spread(acc, pct)} | {spread(f1, lambda v: f'{v:.3f}')} | {', '.join(pct(a) for a in acc)} |")
if len(means) == 3:
    order = sorted(means, key=means.get, reverse=True)
    holds = order == ["labels", "vocab", "uniform"]
    print(f"\nOrder by mean accuracy: {' > '.join(order)}. The seeds' order (class labels ≥ sampled vocabulary ≥ uniform) "
          f"{'holds' if holds else 'does not hold'} here; with three seeds, differences within one sd are not evidence.\n")
print("## Prompt length (class-label init, seed 1)\n")
print("| vectors | trainable values | % of base | test accuracy | macro-F1 |")
print("| ---: | ---: | ---: | ---: | ---: |")
for length, name in ((1, "length-1"), (5, "length-5"), (20, "init-labels-seed1"), (100, "length-100")):
    if name in runs:
        r = runs[name]["result"]
        print(f"| {length} | {r['trainable_params']:,} | {r['percent_of_base']:.3f} % | {pct(r['test_accuracy'])} | {r['test_macro_f1']:.3f} |")
if "ensemble" in runs:
    e = runs["ensemble"]["result"]
    best = max(m["accuracy"] for m in e["members"])
    print("\n## Ensemble of 5 prompts (class-label init, seeds 1-5)\n")
    print("| | test accuracy |")
    print("| --- | ---: |")
    for m in e["members"]:
        print(f"| member {m['adapter'].rsplit('/', 1)[-1]} | {pct(m['accuracy'])} |")
    print(f"| best single member | {pct(best)} |")
    print(f"| ensemble, majority vote | {pct(e['majority_vote_accuracy'])} |")
    print(f"| ensemble, mean probability | {pct(e['mean_probability_accuracy'])} |")
