#!/usr/bin/env python3
"""Reads objects out of an R package's lazy-load database (data/Rdata.rdx + data/Rdata.rdb) without R.

Written from R's documented formats ("R Internals", sections 1.8 Serialization Formats and 1.9 lazy loading):
  - Rdata.rdx is an RDS file (gzip) holding list(variables = <name -> c(offset, length)>, references = ...,
    compressed = <0/1/2/3>), serialized like everything else below.
  - Rdata.rdb holds one blob per object at those offsets: a 4-byte big-endian uncompressed length, then (compressed
    = 1) a zlib stream, or (2, 3) one type byte ('Z' xz, '2' bzip2, '1' zlib, '0' stored) and the payload.
  - Every payload is R's XDR serialization ("X\\n", format version 2 or 3): a tree of items, each introduced by a
    32-bit flags word (type in the low byte, object/attribute/tag bits, "levels" in the high bits).

Only what data sets use is decoded: vectors (logical, integer, double, complex, character, list, raw), pairlists,
symbols, attributes, references, environments as opaque markers and the ALTREP classes R writes for data
(compact sequences, deferred strings, wrappers). Standard library only.

Command line (for a quick look): python3 tools/rdata.py DIR/Rdata.rdx [NAME] -> names, or a summary of NAME.
"""
import bz2
import gzip
import lzma
import struct
import sys
import zlib
from pathlib import Path

NA_INTEGER = -(2 ** 31)

# SEXP types (R Internals 1.1.1) and the pseudo-types used only in the serialized stream.
NILSXP, SYMSXP, LISTSXP, CLOSXP, ENVSXP, PROMSXP, LANGSXP = 0, 1, 2, 3, 4, 5, 6
CHARSXP, LGLSXP, INTSXP, REALSXP, CPLXSXP, STRSXP, DOTSXP = 9, 10, 13, 14, 15, 16, 17
VECSXP, EXPRSXP, RAWSXP, S4SXP = 19, 20, 24, 25
ALTREP_SXP, ATTRLISTSXP, ATTRLANGSXP, BASEENV_SXP, EMPTYENV_SXP = 238, 239, 240, 241, 242
PERSISTSXP, PACKAGESXP, NAMESPACESXP, BASENAMESPACE_SXP = 247, 248, 249, 250
MISSINGARG_SXP, UNBOUNDVALUE_SXP, GLOBALENV_SXP, NILVALUE_SXP, REFSXP = 251, 252, 253, 254, 255

IS_OBJECT, HAS_ATTR, HAS_TAG = 1 << 8, 1 << 9, 1 << 10
LATIN1_MASK, BYTES_MASK = 1 << 2, 1 << 1


class RDataError(ValueError):
    pass


class RVector(list):
    """An R vector (or list) as a Python list, with its R type and attributes (names, class, levels, ...)."""

    def __init__(self, rtype, items, attributes=None):
        super().__init__(items)
        self.rtype = rtype
        self.attributes = attributes or {}


class RSymbol(str):
    pass


class REnvironment:
    """An environment, kept opaque: data sets only carry them incidentally (formulas, tibble internals)."""

    def __init__(self, label):
        self.label = label


class RPairList(list):
    """A pairlist or call as a list of (tag or None, value)."""

    def __init__(self, rtype, items, attributes=None):
        super().__init__(items)
        self.rtype = rtype
        self.attributes = attributes or {}


class _Reader:
    def __init__(self, data, origin):
        self.data, self.pos, self.origin = data, 0, origin
        self.refs = []

    def fail(self, problem):
        raise RDataError(f"{self.origin}: {problem} (at byte {self.pos})")

    def take(self, n):
        if self.pos + n > len(self.data):
            self.fail(f"stream ends early, wanted {n} more bytes")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int(self):
        return struct.unpack(">i", self.take(4))[0]

    def length(self):
        n = self.int()
        if n == -1:  # long vector: the length follows as two 32-bit halves
            upper, lower = struct.unpack(">II", self.take(8))
            return (upper << 32) | lower
        if n < 0:
            self.fail(f"negative vector length {n}")
        return n

    def header(self):
        magic = self.take(2)
        if magic != b"X\n":
            self.fail(f"not XDR serialization (starts {magic!r}; only format 'X' is supported)")
        version = self.int()
        self.int()  # R version that wrote it
        self.int()  # oldest R version that can read it
        if version == 3:
            self.take(self.int())  # native encoding name of the writer
        elif version != 2:
            self.fail(f"serialization format version {version} is not supported (2 or 3 are)")

    def string_vector(self):
        if self.int() != 0:
            self.fail("persistent string vector does not start with 0")
        return [self.item() for _ in range(self.length())]

    def charsxp(self, flags):
        n = self.int()
        if n == -1:
            return None  # NA_character_
        raw = self.take(n)
        levels = flags >> 12
        if levels & LATIN1_MASK:
            return raw.decode("latin-1")
        if levels & BYTES_MASK:
            return raw.decode("latin-1")  # raw bytes: kept one character per byte, never guessed
        return raw.decode("utf-8", errors="surrogateescape")

    def attributes(self, flags):
        if not flags & HAS_ATTR:
            return {}
        pairs = self.item()
        if not isinstance(pairs, RPairList):
            self.fail("attributes are not a pairlist")
        return {str(tag): value for tag, value in pairs}

    def item(self):
        flags = self.int()
        sxp = flags & 0xFF
        if sxp == NILVALUE_SXP:
            return None
        if sxp in (EMPTYENV_SXP, BASEENV_SXP, GLOBALENV_SXP, BASENAMESPACE_SXP):
            return REnvironment({EMPTYENV_SXP: "empty", BASEENV_SXP: "base", GLOBALENV_SXP: "global",
                                 BASENAMESPACE_SXP: "namespace:base"}[sxp])
        if sxp in (UNBOUNDVALUE_SXP, MISSINGARG_SXP):
            return None
        if sxp == REFSXP:
            index = flags >> 8 or self.int()
            if not 1 <= index <= len(self.refs):
                self.fail(f"reference {index} to an object not read yet")
            return self.refs[index - 1]
        if sxp == PERSISTSXP:
            value = REnvironment("persistent:" + ",".join(map(str, self.string_vector())))
            self.refs.append(value)
            return value
        if sxp in (NAMESPACESXP, PACKAGESXP):
            value = REnvironment(("namespace:" if sxp == NAMESPACESXP else "package:") +
                                 ",".join(map(str, self.string_vector())))
            self.refs.append(value)
            return value
        if sxp == SYMSXP:
            value = RSymbol(self.item() or "")
            self.refs.append(value)
            return value
        if sxp == ENVSXP:
            self.int()  # locked
            env = REnvironment("environment")
            self.refs.append(env)
            self.item(), self.item(), self.item(), self.item()  # enclosure, frame, hash table, attributes
            return env
        if sxp in (LISTSXP, LANGSXP, CLOSXP, PROMSXP, DOTSXP, ATTRLISTSXP, ATTRLANGSXP):
            return self.pairlist(flags, sxp)
        if sxp == ALTREP_SXP:
            return self.altrep()
        if sxp == CHARSXP:
            return self.charsxp(flags)
        if sxp in (LGLSXP, INTSXP):
            n = self.length()
            values = list(struct.unpack(f">{n}i", self.take(4 * n)))
            return RVector(sxp, [None if v == NA_INTEGER else v for v in values], self.attributes(flags))
        if sxp == REALSXP:
            n = self.length()
            return RVector(sxp, struct.unpack(f">{n}d", self.take(8 * n)), self.attributes(flags))
        if sxp == CPLXSXP:
            n = self.length()
            parts = struct.unpack(f">{2 * n}d", self.take(16 * n))
            return RVector(sxp, [complex(parts[i], parts[i + 1]) for i in range(0, 2 * n, 2)], self.attributes(flags))
        if sxp == STRSXP:
            n = self.length()
            items = []
            for _ in range(n):
                char_flags = self.int()
                if char_flags & 0xFF != CHARSXP:
                    self.fail(f"character vector element of type {char_flags & 0xFF}")
                items.append(self.charsxp(char_flags))
            return RVector(sxp, items, self.attributes(flags))
        if sxp in (VECSXP, EXPRSXP):
            n = self.length()
            items = [self.item() for _ in range(n)]
            return RVector(sxp, items, self.attributes(flags))
        if sxp == RAWSXP:
            n = self.length()
            return RVector(sxp, self.take(n), self.attributes(flags))
        if sxp == S4SXP:
            return RVector(sxp, [], self.attributes(flags))
        self.fail(f"SEXP type {sxp} is not supported by this reader")

    def pairlist(self, flags, sxp):
        # Pairlists are read iteratively along the CDR so long ones do not exhaust Python's stack.
        items, attributes = [], {}
        while True:
            if flags & HAS_ATTR:
                attr = self.item()
                if not items and isinstance(attr, RPairList):
                    attributes = {str(tag): value for tag, value in attr}
            tag = self.item() if flags & HAS_TAG else None
            items.append((tag, self.item()))
            flags = self.int()
            if flags & 0xFF == NILVALUE_SXP:
                break
            if flags & 0xFF not in (LISTSXP, LANGSXP, DOTSXP, ATTRLISTSXP, ATTRLANGSXP):
                self.pos -= 4  # a CDR that is not a pairlist cell (rare): read it as one last element
                items.append((None, self.item()))
                break
        return RPairList(sxp, items, attributes)

    def altrep(self):
        info = self.item()
        state = self.item()
        attributes = self.item()
        attributes = {str(t): v for t, v in attributes} if isinstance(attributes, RPairList) else {}
        cls = str(info[0][1]) if isinstance(info, RPairList) and info else "?"
        if cls in ("compact_intseq", "compact_realseq"):
            n, start, step = state[0], state[1], state[2]
            values = [start + i * step for i in range(int(n))]
            rtype = INTSXP if cls == "compact_intseq" else REALSXP
            return RVector(rtype, [int(v) for v in values] if rtype == INTSXP else values, attributes)
        if cls == "deferred_string":
            source = state[0][1] if isinstance(state, RPairList) else state
            return RVector(STRSXP, [None if v is None else _number_to_string(v) for v in source], attributes)
        if cls.startswith("wrap_"):
            inner = state[0]
            return RVector(inner.rtype, list(inner), attributes or inner.attributes)
        self.fail(f"ALTREP class {cls!r} is not supported by this reader")


def _number_to_string(value):
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def unserialize(data, origin="<data>"):
    reader = _Reader(data, origin)
    reader.header()
    return reader.item()


def _decompress_blob(blob, compressed, origin):
    if len(blob) < 4:
        raise RDataError(f"{origin}: blob of {len(blob)} bytes is too short")
    expected = struct.unpack(">I", blob[:4])[0]
    if compressed == 1:
        out = zlib.decompress(blob[4:])
    elif compressed in (2, 3):
        kind, payload = blob[4:5], blob[5:]
        if kind == b"Z":
            out = lzma.decompress(payload, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]) \
                if not payload.startswith(b"\xfd7zXZ") else lzma.decompress(payload)
        elif kind == b"2":
            out = bz2.decompress(payload)
        elif kind == b"1":
            out = zlib.decompress(payload)
        elif kind == b"0":
            out = payload
        else:
            raise RDataError(f"{origin}: unknown compression type byte {kind!r}")
    elif compressed == 0:
        out = blob[4:]
    else:
        raise RDataError(f"{origin}: unknown 'compressed' value {compressed} in the index")
    if len(out) != expected:
        raise RDataError(f"{origin}: blob decompressed to {len(out)} bytes, header says {expected}")
    return out


class LazyLoadDB:
    """One Rdata.rdx/.rdb pair: .names() lists the objects, .get(name) decodes one."""

    def __init__(self, rdx_path):
        self.rdx = Path(rdx_path)
        self.rdb = self.rdx.with_suffix(".rdb")
        for path in (self.rdx, self.rdb):
            if not path.is_file():
                raise RDataError(f"{path}: lazy-load database file not found")
        index = unserialize(gzip.decompress(self.rdx.read_bytes()), str(self.rdx))
        fields = dict(zip(index.attributes.get("names", []), index))
        if "variables" not in fields:
            raise RDataError(f"{self.rdx}: index has no 'variables' entry (fields: {sorted(fields)})")
        variables = fields["variables"]
        self.compressed = int(fields["compressed"][0]) if fields.get("compressed") else 1
        if isinstance(self.compressed, bool):
            self.compressed = int(self.compressed)
        self.positions = {name: (int(pos[0]), int(pos[1]))
                          for name, pos in zip(variables.attributes.get("names", []), variables)}

    def names(self):
        return sorted(self.positions)

    def get(self, name):
        if name not in self.positions:
            raise RDataError(f"{self.rdx}: no object named {name!r} (has: {', '.join(self.names())})")
        offset, length = self.positions[name]
        with open(self.rdb, "rb") as f:
            f.seek(offset)
            blob = f.read(length)
        origin = f"{self.rdb}[{name}]"
        return unserialize(_decompress_blob(blob, self.compressed, origin), origin)


def data_frame_columns(frame, origin="data frame"):
    """A data frame (or tibble) as {column name: list of values}; factors become their level strings."""
    names = frame.attributes.get("names")
    if frame.rtype != VECSXP or names is None:
        raise RDataError(f"{origin}: not a data frame (a named list)")
    columns = {}
    for name, column in zip(names, frame):
        levels = column.attributes.get("levels")
        if levels is not None and column.rtype == INTSXP:
            column = [None if code is None else levels[code - 1] for code in column]
        columns[name] = list(column)
    return columns


def main():
    db = LazyLoadDB(sys.argv[1])
    if len(sys.argv) == 2:
        print("\n".join(db.names()))
        return
    value = db.get(sys.argv[2])
    klass = value.attributes.get("class") if hasattr(value, "attributes") else None
    print(f"type {getattr(value, 'rtype', '?')}, class {klass}, length {len(value)}")
    if klass and "data.frame" in klass:
        for name, column in data_frame_columns(value, sys.argv[2]).items():
            print(f"  {name}: {column[:3]!r}")
    else:
        print(f"  {list(value[:3])!r}")


if __name__ == "__main__":
    main()
