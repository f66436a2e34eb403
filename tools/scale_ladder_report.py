#!/usr/bin/env python3
"""The scale ladder of issue 14 (Lester et al.'s "power of scale" in miniature) as a Markdown table and an SVG.

    python3 tools/scale_ladder_report.py reports/promptable-base/scale-ladder.json

The JSON lists the rungs (bases of one recipe, smallest first) and, per task, the `softprompt compare --report` CSV
each rung produced:

    {"title": "...", "recipe": "...", "rungs": [{"name": "mini", "model": "...", "training": "...",
      "heldout_loss": 4.93, "reports": {"food-reviews": "path.csv", "spam": "path.csv"}}, ...],
     "majority": {"food-reviews": 0.64, "spam": 0.70}}

Writes scale-ladder.md and scale-ladder.svg beside the JSON: accuracy (and macro-F1) of every method on every rung,
and per task a panel of accuracy against base parameters (log scale), one line per method, the majority rate dashed.
Standard library only.
"""
import csv
import json
import math
import sys
from pathlib import Path
from xml.sax.saxutils import escape

METHOD_ORDER = ["zero-shot", "prompt", "lora", "ft", "bow"]
COLOURS = {"zero-shot": "#888888", "prompt": "#d62728", "lora": "#1f77b4", "ft": "#2ca02c", "bow": "#9467bd"}


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return {row["method"]: row for row in csv.DictReader(f)}


def main():
    spec_path = Path(sys.argv[1])
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    root = spec_path.parent
    rungs = spec["rungs"]
    tasks = list(rungs[0]["reports"])
    results = {}  # (rung, task) -> {method: row}
    for rung in rungs:
        for task, report in rung["reports"].items():
            rows = read_rows(root / report if not Path(report).is_absolute() else report)
            results[rung["name"], task] = rows
            rung["parameters"] = int(rows["ft"]["trainable_params"])  # full fine-tuning trains every parameter

    lines = [f"# {spec['title']}", "", spec["recipe"], ""]
    lines += ["| base | parameters | training | held-out corpus loss |", "| --- | ---: | --- | ---: |"]
    for rung in rungs:
        lines.append(f"| {rung['name']} (`{rung['model']}`) | {rung['parameters']:,} | {rung['training']} | {rung['heldout_loss']:.3f} |")
    for task in tasks:
        lines += ["", f"**{task}** (test accuracy / macro-F1; majority class {100 * spec['majority'][task]:.1f} %)", ""]
        lines.append("| method | " + " | ".join(r["name"] for r in rungs) + " |")
        lines.append("| --- |" + " ---: |" * len(rungs))
        for method in METHOD_ORDER:
            cells = []
            for rung in rungs:
                row = results[rung["name"], task].get(method)
                cells.append("–" if row is None else f"{100 * float(row['accuracy']):.1f} % / {float(row['macro_f1']):.3f}")
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
    (spec_path.with_suffix(".md")).write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec_path.with_suffix(".svg").write_text(svg(spec, rungs, tasks, results), encoding="utf-8")
    print(f"Wrote {spec_path.with_suffix('.md')} and {spec_path.with_suffix('.svg')}.")


def svg(spec, rungs, tasks, results):
    panel_w, panel_h, left, top, bottom, gap = 360, 260, 56, 40, 48, 40
    width = left + len(tasks) * (panel_w + gap) + 120
    height = top + panel_h + bottom
    xs = [math.log10(r["parameters"]) for r in rungs]
    x_lo, x_hi = min(xs) - 0.08, max(xs) + 0.08
    accuracies = [float(row["accuracy"]) for rows in results.values() for row in rows.values()]
    y_lo = math.floor(min(accuracies + list(spec["majority"].values())) * 10) / 10
    y_hi = 1.0
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    for t, task in enumerate(tasks):
        x0 = left + t * (panel_w + gap)

        def px(v):
            return x0 + (v - x_lo) / (x_hi - x_lo) * panel_w

        def py(a):
            return top + (y_hi - a) / (y_hi - y_lo) * panel_h

        out.append(f'<text x="{x0 + panel_w / 2}" y="{top - 14}" text-anchor="middle" font-weight="bold">{escape(task)}</text>')
        out.append(f'<rect x="{x0}" y="{top}" width="{panel_w}" height="{panel_h}" fill="none" stroke="#333"/>')
        tick = y_lo
        while tick <= y_hi + 1e-9:
            out.append(f'<line x1="{x0}" x2="{x0 + panel_w}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" stroke="#eee"/>')
            out.append(f'<text x="{x0 - 6}" y="{py(tick) + 4:.1f}" text-anchor="end">{100 * tick:.0f}%</text>')
            tick += 0.1
        for rung, x in zip(rungs, xs):
            out.append(f'<text x="{px(x):.1f}" y="{top + panel_h + 16}" text-anchor="middle">{rung["parameters"] / 1e6:.1f}M</text>')
            out.append(f'<text x="{px(x):.1f}" y="{top + panel_h + 30}" text-anchor="middle" fill="#555">{escape(rung["name"])}</text>')
        majority = spec["majority"][task]
        out.append(f'<line x1="{x0}" x2="{x0 + panel_w}" y1="{py(majority):.1f}" y2="{py(majority):.1f}" stroke="#000" stroke-dasharray="5,4"/>')
        for method in METHOD_ORDER:
            points = [(px(x), py(float(results[r["name"], task][method]["accuracy"])))
                      for r, x in zip(rungs, xs) if method in results[r["name"], task]]
            if not points:
                continue
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{COLOURS[method]}" stroke-width="2"/>')
            out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{COLOURS[method]}"/>' for x, y in points]
    legend_x = left + len(tasks) * (panel_w + gap) - gap + 16
    for i, method in enumerate(METHOD_ORDER + ["majority"]):
        y = top + 14 + 18 * i
        if method == "majority":
            out.append(f'<line x1="{legend_x}" x2="{legend_x + 22}" y1="{y - 4}" y2="{y - 4}" stroke="#000" stroke-dasharray="5,4"/>')
        else:
            out.append(f'<line x1="{legend_x}" x2="{legend_x + 22}" y1="{y - 4}" y2="{y - 4}" stroke="{COLOURS[method]}" stroke-width="2"/>')
        out.append(f'<text x="{legend_x + 28}" y="{y}">{escape(method)}</text>')
    out.append(f'<text x="{left}" y="{height - 6}" fill="#555">test accuracy against base parameters (log scale); x labels: parameters, rung</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
