#!/usr/bin/env python3
"""Builds softprompt's pretraining corpus and task files from package data (see data/README.md).

Deterministic: every choice is made by sorting or by random.Random with a fixed seed, and output is written with
'\n' line ends and sorted JSON keys, so two runs give byte-identical files. Standard library only.
"""
import argparse
import json
import os
import random
import re
from pathlib import Path

SEED = 20261123

# ---------------------------------------------------------------- Brown corpus

GENRES = {  # cats.txt names -> readable labels
    "news": "news", "editorial": "editorial", "reviews": "reviews", "religion": "religion", "hobbies": "hobbies",
    "lore": "lore", "belles_lettres": "belles lettres", "government": "government", "learned": "learned",
    "fiction": "fiction", "mystery": "mystery", "science_fiction": "science fiction", "adventure": "adventure",
    "romance": "romance", "humor": "humor",
}

# Brown tags -> a 12-tag universal set (Petrov, Das & McDonald 2012), decided by the tag's base form.
UNIVERSAL = [
    (r"^(nn|nns|nn\$|nns\$|np|nps|np\$|nps\$|nr|nrs|nr\$)$", "NOUN"),
    (r"^(vb|vbd|vbg|vbn|vbz|be|bed|bedz|beg|bem|ben|ber|bez|hv|hvd|hvg|hvn|hvz|do|dod|doz|md)$", "VERB"),
    (r"^(jj|jjr|jjs|jjt|jj\$)$", "ADJ"),
    (r"^(rb|rbr|rbt|rn|rp\$|wrb|ql|qlp|rb\$)$", "ADV"),
    (r"^(pp\$|pp\$\$|ppl|ppls|ppo|pps|ppss|wpo|wps|wp\$|pn|pn\$)$", "PRON"),
    (r"^(at|ap|ap\$|abn|abl|abx|dt|dti|dts|dtx|wdt|ex|dt\$)$", "DET"),
    (r"^(in)$", "ADP"),
    (r"^(cd|od|cd\$)$", "NUM"),
    (r"^(cc|cs)$", "CONJ"),
    (r"^(rp|to)$", "PRT"),
    (r"^[.,:;()'`\-]+$|^--$|^\(|^\)$", "."),
]


def universal_tag(tag):
    base = tag.lower()
    if base.startswith("fw-"):
        return "X"
    base = re.split(r"-(?:tl|hl|nc)", base)[0]
    base = base.split("+")[0]  # contractions such as "pps+bez": the first part carries the word class
    if base.startswith("*"):
        base = base[1:] or "rb"  # "*" is the negator "not"
    for pattern, universal in UNIVERSAL:
        if re.match(pattern, base):
            return universal
    if base in ("*", "nil", ""):
        return "ADV" if base == "*" else "X"
    return "X"


def split_word_tag(item):
    word, _, tag = item.rpartition("/")
    return (word, tag) if word else (item, "nil")


def detokenize(words):
    text = " ".join(words)
    text = text.replace("``", '"').replace("''", '"')
    text = re.sub(r" ([.,;:!?)'])", r"\1", text)
    text = re.sub(r"([(]) ", r"\1", text)
    text = re.sub(r'" (.*?) "', r'"\1"', text)
    text = re.sub(r" n't", "n't", text)
    return re.sub(r"\s+", " ", text).strip()


def read_brown(root):
    cats = {}
    for line in (root / "cats.txt").read_text(encoding="utf-8").splitlines():
        if line.strip():
            doc, genre = line.split()
            cats[doc] = GENRES[genre]
    docs = {}
    for doc in sorted(cats):
        paragraphs, current = [], []
        for line in (root / doc).read_text(encoding="utf-8").splitlines():
            items = line.split()
            if not items:
                if current:
                    paragraphs.append(current)
                    current = []
                continue
            current.append([split_word_tag(i) for i in items])
        if current:
            paragraphs.append(current)
        docs[doc] = paragraphs  # list of paragraphs, each a list of sentences of (word, tag)
    return cats, docs


def brown_split_of(docs_by_genre):
    """Whole documents to splits: within each genre, every 10th document (from the 1st) to test, the 6th of each ten to validation."""
    split = {}
    for genre, docs in docs_by_genre.items():
        for i, doc in enumerate(sorted(docs)):
            split[doc] = "test" if i % 10 == 0 else "validation" if i % 10 == 5 else "train"
    return split


def brown_passages(paragraphs, words_per_passage=120):
    """Consecutive sentences grouped until a passage has at least words_per_passage words."""
    passages, current, count = [], [], 0
    for paragraph in paragraphs:
        for sentence in paragraph:
            words = [w for w, _ in sentence]
            current.append(detokenize(words))
            count += len(words)
            if count >= words_per_passage:
                passages.append(" ".join(current))
                current, count = [], 0
    if count >= words_per_passage // 2:
        passages.append(" ".join(current))
    return passages


# ---------------------------------------------------------------- other sources

def read_austen(export):
    books = []
    for name in ["sensesensibility", "prideprejudice", "mansfieldpark", "emma", "northangerabbey", "persuasion"]:
        lines = (export / f"austen_{name}.txt").read_text(encoding="utf-8").split("\n")
        paragraph = []
        for line in lines + [""]:
            if line.strip():
                paragraph.append(line.strip())
            elif paragraph:
                text = " ".join(paragraph)
                if not re.fullmatch(r"(CHAPTER|Chapter|VOLUME|Volume) [IVXLC\d]+\.?|[A-Z &]+", text):
                    books.append(text)
                paragraph = []
    return books


def read_fortunes(root):
    entries = []
    for path in sorted(p for p in root.iterdir() if p.is_file() and p.suffix == "" and not p.name.startswith(".")):
        raw = path.read_bytes().decode("utf-8", errors="replace")
        for entry in raw.split("\n%\n"):
            text = entry.strip("%\n ")
            if len(text) >= 20 and not re.search(r"[\x00-\x08\x0b-\x1f]", text):
                entries.append(text)
    return entries


POS_NAMES = {"n": "noun", "v": "verb", "a": "adjective", "s": "adjective", "r": "adverb"}


def read_wordnet(root):
    """(offset-key, word, pos, definition, examples) for every synset of the four data files."""
    synsets = []
    for name in ["noun", "verb", "adj", "adv"]:
        for line in (root / f"data.{name}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):
                continue  # licence header
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            ss_type, word_count = fields[2], int(fields[3], 16)
            word = re.sub(r"\(.*?\)$", "", fields[4]).replace("_", " ")
            parts = [p.strip() for p in gloss.strip().split(";")]
            definition = "; ".join(p for p in parts if p and not p.startswith('"'))
            examples = [p.strip('"') for p in parts if p.startswith('"')]
            if definition:
                synsets.append((f"{name}:{fields[0]}", word, POS_NAMES[ss_type], definition, examples))
    return synsets


def read_food(export, split):
    rows = []
    for line in (export / f"food_{split}.tsv").read_text(encoding="utf-8").splitlines():
        score, product, review = line.split("\t", 2)
        review = re.sub(r"<br\s*/?>", " ", review)
        review = re.sub(r"\s+", " ", review).strip()
        rows.append({"text": review, "label": score})
    return rows


# ---------------------------------------------------------------- output helpers

def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")


def words_of(texts):
    return sum(len(t.split()) for t in texts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brown", type=Path, required=True)
    ap.add_argument("--r-export", type=Path, required=True)
    ap.add_argument("--wordnet", type=Path, required=True)
    ap.add_argument("--fortunes", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    tasks = args.out / "tasks"
    held_out = []  # texts of validation/test rows, which the corpus must not contain

    # food-reviews: the package's 4,000 training rows -> 3,500 train + 500 validation; its 1,000 test rows -> test
    food_train = read_food(args.r_export, "training_data")
    random.Random(SEED).shuffle(food_train)
    food = {"train": food_train[500:], "validation": food_train[:500], "test": read_food(args.r_export, "testing_data")}
    for split, rows in food.items():
        write_jsonl(tasks / "food-reviews" / f"{split}.jsonl", rows)
    held_out += [r["text"] for r in food["validation"] + food["test"]]

    # brown-genre and brown-pos: documents split whole
    cats, docs = read_brown(args.brown)
    by_genre = {}
    for doc, genre in cats.items():
        by_genre.setdefault(genre, []).append(doc)
    doc_split = brown_split_of(by_genre)
    genre_rows = {"train": [], "validation": [], "test": []}
    pos_rows = {"train": [], "validation": [], "test": []}
    brown_corpus_docs = []
    for doc in sorted(docs):
        split = doc_split[doc]
        for passage in brown_passages(docs[doc]):
            genre_rows[split].append({"text": passage, "label": cats[doc], "document": doc})
        for paragraph in docs[doc]:
            for sentence in paragraph:
                if 3 <= len(sentence) <= 60:
                    pos_rows[split].append({"tokens": [w for w, _ in sentence], "tags": [universal_tag(t) for _, t in sentence]})
        if split == "train":
            brown_corpus_docs += [" ".join(detokenize([w for w, _ in s]) for s in p) for p in docs[doc]]
        else:
            held_out += [p["text"] for p in genre_rows[split] if p["document"] == doc]
    pos_limits = {"train": 10000, "validation": 1000, "test": 2000}
    for split in genre_rows:
        write_jsonl(tasks / "brown-genre" / f"{split}.jsonl", genre_rows[split])
        rows = pos_rows[split]
        random.Random(SEED + 1).shuffle(rows)
        write_jsonl(tasks / "brown-pos" / f"{split}.jsonl", rows[:pos_limits[split]])

    # wordnet-gloss: 10,000 synsets drawn at random -> 8,000 / 1,000 / 1,000
    synsets = read_wordnet(args.wordnet)
    chosen = random.Random(SEED + 2).sample(range(len(synsets)), 10000)
    gloss_splits = {"train": chosen[:8000], "validation": chosen[8000:9000], "test": chosen[9000:]}
    held_synsets = set(gloss_splits["validation"] + gloss_splits["test"])
    for split, indices in gloss_splits.items():
        rows = [{"word": synsets[i][1], "pos": synsets[i][2], "gloss": synsets[i][3]} for i in sorted(indices)]
        write_jsonl(tasks / "wordnet-gloss" / f"{split}.jsonl", rows)
    held_out += [synsets[i][3] for i in held_synsets if len(synsets[i][3]) >= 40]

    # corpus: Brown training documents, Austen, fortunes, and WordNet glosses (held-out synsets left out), capped
    austen = read_austen(args.r_export)
    fortunes = read_fortunes(args.fortunes)
    wordnet_docs = []
    held_definitions = {synsets[i][3] for i in held_synsets}  # some synsets share a definition word for word
    for i, (_, word, pos, definition, examples) in enumerate(synsets):
        if i in held_synsets or definition in held_definitions:
            continue
        text = f"{word} ({pos}): {definition}."
        if examples:
            text += " For example: " + "; ".join(f'"{e}"' for e in examples) + "."
        wordnet_docs.append(text)
    other_words = words_of(brown_corpus_docs) + words_of(austen) + words_of(fortunes)
    random.Random(SEED + 3).shuffle(wordnet_docs)
    cap = int(other_words * 0.30 / 0.70)
    kept, total = [], 0
    for d in wordnet_docs:
        if total >= cap:
            break
        kept.append(d)
        total += len(d.split())
    sources = {"brown": brown_corpus_docs, "austen": austen, "fortunes": fortunes, "wordnet": kept}
    documents = [d for name in sources for d in sources[name]]
    random.Random(SEED + 4).shuffle(documents)
    n_validation = len(documents) // 50
    corpus = {"validation": documents[:n_validation], "train": documents[n_validation:]}
    (args.out / "corpus").mkdir(parents=True, exist_ok=True)
    for split, docs_ in corpus.items():
        with open(args.out / "corpus" / f"{split}.txt", "w", encoding="utf-8", newline="\n") as f:
            f.write("\n\n".join(d.replace("\n\n", "\n") for d in docs_) + "\n")

    # no held-out task text in the corpus, verbatim
    text = "\n".join(documents)
    leaked = [h for h in held_out if len(h) >= 40 and h in text]
    if leaked:
        raise SystemExit(f"{len(leaked)} held-out task texts appear in the corpus, e.g. {leaked[0][:80]!r}")

    stats = {name: {"documents": len(d), "words": words_of(d)} for name, d in sources.items()}
    stats["tasks"] = {
        "food-reviews": {s: len(r) for s, r in food.items()},
        "brown-genre": {s: len(r) for s, r in genre_rows.items()},
        "brown-pos": {s: min(len(pos_rows[s]), pos_limits[s]) for s in pos_rows},
        "wordnet-gloss": {s: len(i) for s, i in gloss_splits.items()},
    }
    stats["held_out_checked"] = len(held_out)
    print(json.dumps(stats, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
