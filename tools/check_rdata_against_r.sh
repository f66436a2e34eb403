#!/usr/bin/env bash
# Compares tools/rdata.py with R itself on the data the build uses: every review, product and score of modeldata's
# training_data/testing_data and every line of the six Austen novels, written one value per line by both (newlines
# and backslashes escaped) and compared byte for byte. Needs r-base-core, r-cran-modeldata and r-cran-janeaustenr
# installed system-wide (apt-get install -y --no-install-recommends ...); the data build itself does not.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
site=/usr/lib/R/site-library
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
books="emma mansfieldpark northangerabbey persuasion prideprejudice sensesensibility"

Rscript --vanilla - "$work" $books <<'RSCRIPT'
args <- commandArgs(trailingOnly = TRUE); out <- args[1]
esc <- function(x) { x <- gsub("\\", "\\\\", x, fixed = TRUE); x <- gsub("\n", "\\n", x, fixed = TRUE); gsub("\r", "\\r", x, fixed = TRUE) }
data(small_fine_foods, package = "modeldata", envir = environment())
for (s in c("training_data", "testing_data")) { d <- get(s); for (col in names(d)) writeLines(esc(as.character(d[[col]])), file.path(out, paste0("R.", s, ".", col)), useBytes = TRUE) }
for (b in args[-1]) writeLines(esc(getExportedValue("janeaustenr", b)), file.path(out, paste0("R.", b)), useBytes = TRUE)
RSCRIPT

python3 - "$repo/tools" "$work" "$site" $books <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import rdata
work, site, books = sys.argv[2], sys.argv[3], sys.argv[4:]
def write(name, values):
    esc = lambda s: s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    with open(f"{work}/P.{name}", "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(esc(v) + "\n" for v in values))
food = rdata.LazyLoadDB(f"{site}/modeldata/data/Rdata.rdx")
for split in ("training_data", "testing_data"):
    for column, values in rdata.data_frame_columns(food.get(split)).items():
        write(f"{split}.{column}", values)
austen = rdata.LazyLoadDB(f"{site}/janeaustenr/data/Rdata.rdx")
for book in books:
    write(book, austen.get(book))
for name in food.names():
    food.get(name)  # every data set of the package must at least decode
PY

status=0
for r in "$work"/R.*; do
  name="${r##*/R.}"
  if cmp -s "$r" "$work/P.$name"; then echo "same: $name ($(wc -l < "$r") values)"; else echo "DIFFERENT: $name"; status=1; fi
done
exit $status
