#!/usr/bin/python3
"""Renders the glyph image tasks in data/glyphs/ from fonts Debian ships (deterministic: same fonts, same bytes).

Two tasks, on disjoint groups of font files:
  characters — digits and upper-case letters (36 classes) in the DejaVu and URW base35 fonts: what the ViT is
               pretrained on. Split by font file, so validation and test fonts were never seen in training.
  lowercase  — the 26 lower-case letters in fonts the pretraining never saw (Liberation, FreeFont, Carlito,
               Caladea): the adaptation task for visual prompt tuning. Both the label set and the fonts are new.

Each glyph is drawn at 4x resolution with its baseline and size fixed relative to the em box (so 'o' stays smaller
than 'O'), jittered by a small random shift, rotation and scale, and box-filtered down to 16x16 grayscale (ink = 255).
Each split is one gzip file of records [label: uint8][16*16 pixels: uint8, row-major]; index.json lists the classes,
the fonts of each split and the record counts.

Run:  sudo apt-get install -y python3-pil fonts-dejavu-core fonts-dejavu-extra fonts-urw-base35 fonts-liberation \
          fonts-freefont-ttf fonts-crosextra-carlito fonts-crosextra-caladea
      /usr/bin/python3 tools/make_glyphs.py
"""
import gzip
import json
import os
import random
import string

from PIL import Image, ImageDraw, ImageFont

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "glyphs")
SIZE = 16
SCALE = 4
FONTS = "/usr/share/fonts"

DEJAVU = [f"truetype/dejavu/DejaVu{family}{style}.ttf"
          for family, styles in [("Sans", ["", "-Bold", "-Oblique", "-BoldOblique"]),
                                 ("SansCondensed", ["", "-Bold", "-Oblique", "-BoldOblique"]),
                                 ("Serif", ["", "-Bold", "-Italic", "-BoldItalic"]),
                                 ("SerifCondensed", ["", "-Bold", "-Italic", "-BoldItalic"]),
                                 ("SansMono", ["", "-Bold", "-Oblique", "-BoldOblique"])]
          for style in styles]
URW = [f"opentype/urw-base35/{name}.otf" for name in [
    "C059-Roman", "C059-Bold", "C059-Italic", "C059-BdIta",
    "NimbusMonoPS-Regular", "NimbusMonoPS-Bold", "NimbusMonoPS-Italic", "NimbusMonoPS-BoldItalic",
    "NimbusRoman-Regular", "NimbusRoman-Bold", "NimbusRoman-Italic", "NimbusRoman-BoldItalic",
    "NimbusSans-Regular", "NimbusSans-Bold", "NimbusSans-Italic", "NimbusSans-BoldItalic",
    "NimbusSansNarrow-Regular", "NimbusSansNarrow-Bold", "NimbusSansNarrow-Oblique", "NimbusSansNarrow-BoldOblique",
    "P052-Roman", "P052-Bold", "P052-Italic", "P052-BoldItalic",
    "URWBookman-Light", "URWBookman-Demi", "URWBookman-LightItalic", "URWBookman-DemiItalic",
    "URWGothic-Book", "URWGothic-Demi", "URWGothic-BookOblique", "URWGothic-DemiOblique"]]
LIBERATION = [f"truetype/liberation/Liberation{family}-{style}.ttf"
              for family in ["Sans", "SansNarrow", "Serif", "Mono"]
              for style in ["Regular", "Bold", "Italic", "BoldItalic"]]
FREEFONT = [f"truetype/freefont/Free{name}.ttf" for name in [
    "Sans", "SansBold", "SansOblique", "SansBoldOblique", "Serif", "SerifBold", "SerifItalic", "SerifBoldItalic",
    "Mono", "MonoBold", "MonoOblique", "MonoBoldOblique"]]
CROSEXTRA = [f"truetype/crosextra/{family}-{style}.ttf"
             for family in ["Carlito", "Caladea"] for style in ["Regular", "Bold", "Italic", "BoldItalic"]]


def split_fonts(fonts, held_out_every, seed):
    """Every k-th font (after a seeded shuffle) to validation, the next to test, the rest to training."""
    order = sorted(fonts)
    random.Random(seed).shuffle(order)
    validation = order[0::held_out_every]
    test = order[1::held_out_every]
    train = [f for f in order if f not in validation and f not in test]
    return {"train": sorted(train), "validation": sorted(validation), "test": sorted(test)}


def render(font_path, char, rng):
    """One jittered 16x16 glyph: uint8 bytes, ink = 255."""
    big = SIZE * SCALE
    em = rng.uniform(0.78, 0.92) * big
    font = ImageFont.truetype(os.path.join(FONTS, font_path), size=round(em))
    canvas = Image.new("L", (big, big), 0)
    # Baseline at 78% of the height leaves room for descenders ('g', 'y'); 'ms' anchors the glyph's middle there.
    x = big / 2 + rng.uniform(-1.5, 1.5) * SCALE
    y = 0.78 * big + rng.uniform(-1.0, 1.0) * SCALE
    ImageDraw.Draw(canvas).text((x, y), char, fill=255, font=font, anchor="ms")
    canvas = canvas.rotate(rng.uniform(-8, 8), resample=Image.BILINEAR, center=(big / 2, big / 2))
    return canvas.resize((SIZE, SIZE), resample=Image.BOX).tobytes()


def write_task(name, classes, fonts, renders_per_split, seed):
    directory = os.path.join(OUT, name)
    os.makedirs(directory, exist_ok=True)
    splits = {}
    for split, split_fonts_list in fonts.items():
        rng = random.Random(f"{seed}/{split}")
        records = bytearray()
        for font_path in split_fonts_list:
            for label, char in enumerate(classes):
                for _ in range(renders_per_split[split]):
                    records.append(label)
                    records += render(font_path, char, rng)
        file_name = f"{split}.bin.gz"
        # mtime=0 and no file name in the header keep the bytes identical from run to run.
        with open(os.path.join(directory, file_name), "wb") as raw, \
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
            f.write(bytes(records))
        splits[split] = {"file": file_name, "count": len(records) // (1 + SIZE * SIZE), "fonts": split_fonts_list}
    index = {"image_size": SIZE, "channels": 1, "record": "uint8 label, then image_size^2 uint8 pixels (row-major, ink 255)",
             "classes": list(classes), "splits": splits}
    with open(os.path.join(directory, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")
    return {s: v["count"] for s, v in splits.items()}


def main():
    characters = string.digits + string.ascii_uppercase
    pretraining_fonts = split_fonts(DEJAVU + URW, held_out_every=9, seed=1)
    counts = write_task("characters", characters, pretraining_fonts, {"train": 6, "validation": 2, "test": 2}, seed=1)
    print("characters", counts)
    adaptation_fonts = split_fonts(LIBERATION + FREEFONT + CROSEXTRA, held_out_every=4, seed=2)
    counts = write_task("lowercase", string.ascii_lowercase, adaptation_fonts, {"train": 3, "validation": 2, "test": 3}, seed=2)
    print("lowercase", counts)


if __name__ == "__main__":
    main()
