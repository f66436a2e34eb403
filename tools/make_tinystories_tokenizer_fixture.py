#!/usr/bin/python3
"""Reference ids for the SentencePiece vocabulary inside TinyStories-260K's model.bin, from Google's SentencePiece.

The file carries pieces and scores but no .model, so this builds the SentencePiece model the vocabulary came from
(BPE, identity normalization, a dummy "▁" prefix, spaces kept as they are, byte fallback — llama2.c's training
settings) and lets SentencePiece itself encode a text sample. Writes tests/fixtures/tokenizers/tinystories-260k/
expected.json, the ids our SentencePieceBpeTokenizer.FromScores must reproduce.

    sudo apt-get install -y python3-sentencepiece python3-protobuf
    /usr/bin/python3 tools/make_tinystories_tokenizer_fixture.py [path/to/model.bin]
"""
import json
import os
import struct
import sys

import sentencepiece
from sentencepiece import sentencepiece_model_pb2 as model_pb2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_IN_SHARED = os.path.join("shared", "models", "tinystories-260k", "model.bin")
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizers", "tinystories-260k", "expected.json")

SAMPLES = [
    "Once upon a time, there was a little girl named Lily.",
    "She liked to play outside with her dog, Max. One day, they found a big red ball!",
    "\"Mom, can I have a cookie?\" asked Tim. His mom said, \"Yes, you can.\"",
    "  two leading spaces, three   inside and trailing  ",
    "tabs\tand\nnew lines\n\nstay as bytes",
    "It's 3 o'clock; they'll eat 12 apples and 7 pears.",
    "Caf\u00e9, na\u00efve, Stra\u00dfe, \u65e5\u672c\u8a9e, emoji \U0001F642\U0001F680",
    "The end.",
    "a",
    " ",
    "",
]


def read_vocabulary(path):
    """(pieces, scores) from the vocabulary section; layout in shared/models/tinystories-260k/FORMAT.md."""
    with open(path, "rb") as f:
        header = f.read(256)
        type_length = struct.unpack_from("<i", header, 1)[0]
        vocab_size = struct.unpack_from("<7i", header, 5 + type_length)[3]
        pieces, scores = [], []
        for _ in range(vocab_size):
            score, length = struct.unpack("<fi", f.read(8))
            pieces.append(f.read(length).decode("utf-8"))
            scores.append(score)
    return pieces, scores


def sentencepiece_model(pieces, scores):
    proto = model_pb2.ModelProto()
    proto.trainer_spec.model_type = model_pb2.TrainerSpec.BPE
    proto.trainer_spec.vocab_size = len(pieces)
    proto.trainer_spec.byte_fallback = True
    proto.trainer_spec.unk_id, proto.trainer_spec.bos_id, proto.trainer_spec.eos_id, proto.trainer_spec.pad_id = 0, 1, 2, -1
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = True
    proto.normalizer_spec.remove_extra_whitespaces = False
    proto.normalizer_spec.escape_whitespaces = True
    for i, (piece, score) in enumerate(zip(pieces, scores)):
        entry = proto.pieces.add()
        entry.piece, entry.score = piece, score
        if i == 0:
            entry.type = model_pb2.ModelProto.SentencePiece.UNKNOWN
        elif piece in ("<s>", "</s>"):
            entry.type = model_pb2.ModelProto.SentencePiece.CONTROL
        elif len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
            entry.type = model_pb2.ModelProto.SentencePiece.BYTE
        else:
            entry.type = model_pb2.ModelProto.SentencePiece.NORMAL
    processor = sentencepiece.SentencePieceProcessor()
    processor.LoadFromSerializedProto(proto.SerializeToString())
    return processor


def default_model_path():
    """shared/ beside the repository or inside it: the nearest ancestor of the repository root that has it."""
    directory = ROOT
    while True:
        candidate = os.path.join(directory, MODEL_IN_SHARED)
        if os.path.exists(candidate) or os.path.dirname(directory) == directory:
            return candidate
        directory = os.path.dirname(directory)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else default_model_path()
    pieces, scores = read_vocabulary(path)
    processor = sentencepiece_model(pieces, scores)
    cases = [{"text": text, "ids": processor.EncodeAsIds(text)} for text in SAMPLES]
    for case in cases:
        assert processor.DecodeIds(case["ids"]) == case["text"] or case["text"].startswith(" "), case
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(case, ensure_ascii=False) for case in cases) + "\n]\n")
    print(f"{len(cases)} cases from {len(pieces)} pieces written to {OUT}")


if __name__ == "__main__":
    main()
