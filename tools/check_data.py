#!/usr/bin/env python3
"""Checks the built data independently of tools/make_data.py: row counts and label sets as the READMEs state them,
row shapes, no document/review/word in two splits, and no validation/test text in the corpus.

    python3 tools/check_data.py        # after bash tools/make_data.sh; exits 1 and names each problem found
"""
import json
import re
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
SPLITS = ("train", "validation", "test")
EXPECTED = {  # task: (rows per split, allowed labels or None)
    "food-reviews": ({"train": 3472, "validation": 500, "test": 1000}, {"great", "other"}),
    "spam": ({"train": 2000, "validation": 500, "test": 1000}, {"spam", "ham"}),
    "brown-genre": ({"train": 6880, "validation": 892, "test": 937},
                    {"news", "editorial", "reviews", "religion", "hobbies", "lore", "belles lettres", "government",
                     "learned", "fiction", "mystery", "science fiction", "adventure", "romance", "humor"}),
    "brown-pos": ({"train": 10000, "validation": 1000, "test": 2000},
                  {"NOUN", "VERB", "ADJ", "ADV", "PRON", "DET", "ADP", "NUM", "CONJ", "PRT", ".", "X"}),
    "wordnet-gloss": ({"train": 8000, "validation": 1000, "test": 1000}, {"noun", "verb", "adjective", "adverb"}),
}
problems = []


def load(task, split):
    path = DATA / "tasks" / task / f"{split}.jsonl"
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            problems.append(f"{path}:{number}: not JSON ({e})")
    return rows


def labels_of(task, row):
    return row["tags"] if task == "brown-pos" else [row["pos"] if task == "wordnet-gloss" else row["label"]]


def main():
    rows = {task: {s: load(task, s) for s in SPLITS} for task in EXPECTED}
    for task, (counts, labels) in EXPECTED.items():
        for split in SPLITS:
            if len(rows[task][split]) != counts[split]:
                problems.append(f"{task}/{split}: {len(rows[task][split])} rows, expected {counts[split]}")
            seen = {label for row in rows[task][split] for label in labels_of(task, row)}
            if seen - labels:
                problems.append(f"{task}/{split}: labels outside the set: {sorted(seen - labels)}")
            if task != "brown-pos" and split == "train" and seen != labels:
                problems.append(f"{task}/train: labels never used: {sorted(labels - seen)}")
    for row in (r for s in SPLITS for r in rows["brown-pos"][s]):
        if len(row["tokens"]) != len(row["tags"]):
            problems.append(f"brown-pos: a row has {len(row['tokens'])} tokens but {len(row['tags'])} tags")
            break

    def disjoint(task, key):
        owner = {}
        for split in SPLITS:
            for row in rows[task][split]:
                k = key(row)
                if owner.setdefault(k, split) != split:
                    problems.append(f"{task}: {k!r} is in both {owner[k]} and {split}")
                    return
    disjoint("brown-genre", lambda r: r["document"])
    disjoint("food-reviews", lambda r: r["text"])
    disjoint("spam", lambda r: r["text"])
    disjoint("wordnet-gloss", lambda r: (r["word"], r["pos"]))

    # Held-out texts in the corpus: whole texts for reviews, passages and definitions of 40+ characters; for POS
    # sentences (tokenized), their longest run of 8+ plain words, which detokenization leaves space-separated.
    corpus = "\n".join((DATA / "corpus" / f"{s}.txt").read_text(encoding="utf-8") for s in ("train", "validation"))
    probes = []
    for split in ("validation", "test"):
        probes += [("food-reviews", r["text"]) for r in rows["food-reviews"][split]]
        probes += [("spam", r["text"]) for r in rows["spam"][split]]
        probes += [("brown-genre", r["text"]) for r in rows["brown-genre"][split]]
        probes += [("wordnet-gloss", r["gloss"]) for r in rows["wordnet-gloss"][split] if len(r["gloss"]) >= 40]
        for r in rows["brown-pos"][split]:
            runs = re.findall(r"(?:\b[A-Za-z]+ ){7,}[A-Za-z]+\b", " ".join(r["tokens"]))
            probes += [("brown-pos", max(runs, key=len))] if runs else []
    found = {}
    for task, text in probes:
        if text in corpus:
            found[task] = found.get(task, 0) + 1
    for task, count in found.items():
        problems.append(f"corpus contains {count} {task} validation/test texts verbatim")
    short_glosses = {r["gloss"] for s in ("validation", "test") for r in rows["wordnet-gloss"][s] if len(r["gloss"]) < 40}
    corpus_glosses = set(re.findall(r"^[^\n]+? \((?:noun|verb|adjective|adverb)\): (.+?)\.(?: For example: |$)", corpus, re.M))
    if short_glosses & corpus_glosses:
        problems.append(f"corpus holds {len(short_glosses & corpus_glosses)} short held-out definitions")

    # WordNet's examples quote Brown (SemCor) with other punctuation: compare held-out POS sentences with dictionary
    # entries (WordNet's and the 1913 Webster's, both written `word (pos): ...`) as lowercase words, any 8 in a row.
    words = lambda text: re.findall(r"[a-z0-9]+", text.lower())
    entry_windows = set()
    for entry in re.findall(r"^[^\n]+? \((?:noun|verb|adjective|adverb)\): .*$", corpus, re.M):
        w = words(entry)
        entry_windows.update(tuple(w[i:i + 8]) for i in range(len(w) - 7))
    quoted = sum(1 for split in ("validation", "test") for r in rows["brown-pos"][split]
                 if any(tuple(w[i:i + 8]) in entry_windows for w in [words(" ".join(r["tokens"]))]
                        for i in range(len(w) - 7)))
    if quoted:
        problems.append(f"{quoted} held-out brown-pos sentences share 8 consecutive words with a corpus WordNet entry")
    split_docs = {s: set((DATA / "corpus" / f"{s}.txt").read_text(encoding="utf-8").rstrip("\n").split("\n\n"))
                  for s in ("train", "validation")}
    if split_docs["train"] & split_docs["validation"]:
        problems.append(f"{len(split_docs['train'] & split_docs['validation'])} documents are in both corpus splits")

    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"data ok: counts and label sets as stated, splits disjoint, {len(probes) + len(short_glosses)} held-out "
          f"texts absent from the corpus ({len(corpus):,} characters)")


if __name__ == "__main__":
    main()
