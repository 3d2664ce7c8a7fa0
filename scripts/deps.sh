#!/usr/bin/env bash
# deps.sh — install what Hotline needs to build, run and test on Debian 12.
#
# Only missing tools are installed, with one `apt-get update` first; a machine
# that has everything is left untouched (and the script takes milliseconds),
# so `make` can call it before every build. Works as root or through sudo,
# never asks a question.
#
# Go is not installed here: Debian's Go is too old and Hotline needs the Go
# release named in go.mod, which lives in /usr/local/go (the newcomer script
# installs it on a fresh machine).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf 'deps.sh: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

missing=()
want() { missing+=("$@"); }

# The server binaries, not just psql: scripts/pg.sh runs its own cluster.
if ! have psql || ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
	want postgresql postgresql-client
fi
have sipp || want sip-tester
have baresip || want baresip
have espeak-ng || want espeak-ng
have sox || want sox
# Asterisk's core English prompts (hello-world, digits/, letters/...), 8 kHz
# 16-bit mono WAV: the ARI sound library (ari/sounds.go) plays sound:,
# digits:, number: and characters: from them. Debian puts them in
# /usr/share/asterisk/sounds/en_US_f_Allison (the "en" link belongs to
# asterisk-core-sounds-en, which ari.Sounds does not need).
compgen -G '/usr/share/asterisk/sounds/en*/hello-world.wav' >/dev/null || want asterisk-core-sounds-en-wav
# Speech (speech/pocketsphinx is cgo): the recognizer's headers and library,
# pkg-config to find them, the US English model, and flite, whose voices
# the speech tests use as callers (espeak-ng's are a poor stand-in).
[[ -f /usr/include/pocketsphinx/pocketsphinx.h ]] || want libpocketsphinx-dev
[[ -f /usr/share/pocketsphinx/model/en-us/en-us/mdef ]] || want pocketsphinx-en-us
have pkg-config || want pkg-config
have flite || want flite
# The browser test (test/browser_test.go): headless Chromium driven by
# playwright-core, which npm installs into test/browser/node_modules.
[[ -x /usr/bin/chromium ]] || want chromium
have node || want nodejs
have npm || want npm
[[ -s /etc/ssl/certs/ca-certificates.crt ]] || want ca-certificates
have make || want make
have git || want git
# `go test -race` needs cgo, hence a C compiler and libc headers.
have gcc || want gcc libc6-dev
# Opus toward browsers (webrtc/opus_cgo.go links the system libopus).
[[ -e /usr/include/opus/opus.h ]] || want libopus-dev
# pg.sh serialises concurrent starts with flock (util-linux, normally present).
have flock || want util-linux
# `deps.sh --bench` (make bench): the speech sets of bench/speechset and
# bench/assist render some voices with festival's HTS voice.
if [[ ${1:-} == --bench ]]; then
	have festival || want festival
	[[ -d /usr/share/festival/voices/us/cmu_us_slt_arctic_hts ]] || want festvox-us-slt-hts
fi

if ((${#missing[@]} > 0)); then
	if [[ $EUID -eq 0 ]]; then
		as_root=()
	elif have sudo; then
		# -n without a terminal: fail fast instead of hanging on a password prompt.
		if [[ -t 0 ]]; then as_root=(sudo); else as_root=(sudo -n); fi
	else
		log "missing: ${missing[*]}"
		log "not root and no sudo: install them with: apt-get install ${missing[*]}"
		exit 1
	fi
	log "installing: ${missing[*]}"
	apt_env=(env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a)
	"${as_root[@]}" "${apt_env[@]}" apt-get update -qq
	"${as_root[@]}" "${apt_env[@]}" apt-get install -y -qq --no-install-recommends \
		-o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		"${missing[@]}" >/dev/null
	log "installed"
fi

# Go last: everything else is installed even if this fails, so a newcomer
# sees one clear instruction.
if ! have go; then
	if [[ -x /usr/local/go/bin/go ]]; then
		log "note: Go is in /usr/local/go/bin but not on PATH; add it: export PATH=\$PATH:/usr/local/go/bin (make does this itself)"
		PATH=$PATH:/usr/local/go/bin
	else
		log "Go is not installed. Hotline needs Go $(sed -n 's/^go //p' "$ROOT/go.mod"), installed in /usr/local/go"
		log "(run the newcomer script, or unpack the release from https://go.dev/dl/ into /usr/local)."
		exit 1
	fi
fi

# A too-old Go would try to download the newer toolchain named in go.mod,
# which fails offline with a confusing error; say it plainly instead.
need=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$ROOT/go.mod")
have_v=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
if [[ -n $need && -n $have_v ]] &&
	[[ $(printf '%s\n%s\n' "$need" "$have_v" | sort -V | head -n 1) != "$need" ]]; then
	log "warning: go.mod wants Go $need but $(command -v go) is Go $have_v"
fi
