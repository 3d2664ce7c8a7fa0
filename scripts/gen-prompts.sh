#!/usr/bin/env bash
# Renders the demo prompts listed in configs/prompts/PROMPTS.txt with espeak-ng
# (8 kHz, 16-bit mono WAV, what the media path plays without resampling) and
# the hold music with sox. The rendered files are committed, so `make run`
# does not need these tools; run this after editing PROMPTS.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
list=configs/prompts/PROMPTS.txt
command -v espeak-ng >/dev/null && command -v sox >/dev/null || {
  echo "gen-prompts: needs espeak-ng and sox (apt-get install espeak-ng sox)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
while IFS=$'\t' read -r tenant name text; do
  [[ -z "${tenant// }" || "$tenant" == \#* ]] && continue
  mkdir -p "configs/prompts/$tenant"
  voice=en-us; [[ "$tenant" == acme ]] && voice=en-gb
  espeak-ng -v "$voice" -s 160 -w "$tmp/raw.wav" "$text"
  # Trim espeak's trailing silence, add 150 ms lead-in, normalise to -3 dBFS.
  sox "$tmp/raw.wav" -r 8000 -c 1 -b 16 "configs/prompts/$tenant/$name.wav" \
    silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse pad 0.15 0.1 norm -3
done < "$list"
# Hold music: a slow I-vi-IV-V arpeggio of soft sine tones, 16 s, looped by the player.
parts=()
i=0
for chord in "261.6 329.6 392.0" "220.0 261.6 329.6" "174.6 220.0 261.6" "196.0 246.9 293.7"; do
  for rep in 1 2; do
    for f in $chord; do
      sox -n -r 8000 -c 1 -b 16 "$tmp/n$i.wav" synth 0.5 sine "$f" fade q 0.05 0.5 0.2 vol 0.35
      parts+=("$tmp/n$i.wav"); i=$((i+1))
    done
    sox -n -r 8000 -c 1 -b 16 "$tmp/n$i.wav" synth 0.5 sine "$(echo $chord | cut -d' ' -f2)" fade q 0.05 0.5 0.2 vol 0.3
    parts+=("$tmp/n$i.wav"); i=$((i+1))
  done
done
sox "${parts[@]}" configs/prompts/moh.wav
echo "prompts rendered under configs/prompts"
