#!/usr/bin/env bash
# Install the Debian packages advgeom needs (data, speech synthesisers, browser, node for MathJax).
# As root: apt-get installs what is missing. Otherwise: print the command to run and continue.
set -euo pipefail
PACKAGES=(
  dataset-fashion-mnist            # embedded vision data (/usr/share/datasets/fashion-mnist)
  espeak-ng flite festival         # offline speech synthesis for the spoken-word corpus
  festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
  asterisk-core-sounds-en-wav      # real recorded digits (train-on-synthetic / test-on-real)
  libsndfile1                      # soundfile
  chromium                         # headless browser checks of the built book
  nodejs npm                       # fetches MathJax 3 from the npm registry for the offline book
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from outside Debian (already on PATH): do not reinstall them then.
if command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]}"
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  echo "system packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "system packages missing: ${missing[*]}" >&2
  echo "  install them with: sudo apt-get install ${missing[*]}" >&2
  echo "  (chapters that need them will fail with a message naming the package)" >&2
fi
