# Hotline build, run and test entry points. `make test` is what CI runs.
#
# The database: if DATABASE_URL is set it is used as is; otherwise
# scripts/pg.sh starts (or reuses) a private PostgreSQL under var/pg on
# 127.0.0.1:55432 and prints its URL.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

# Go lives in /usr/local/go on our machines, which is not always on PATH
# (sudo, cron, fresh shells).
export PATH := $(PATH):/usr/local/go/bin

GO     ?= go
BIN    := bin/hotline
CONFIG ?= configs/hotline.yaml

# Resolves the database in the same shell as the command that needs it
# (each recipe line is its own shell). pg.sh echoes DATABASE_URL when set.
WITH_DB = url="$$(scripts/pg.sh)"; export DATABASE_URL="$$url";

.PHONY: build deps db db-stop migrate run test bench fmt fmt-check vet clean distclean

build:
	$(GO) build -o $(BIN) ./cmd/hotline

deps:
	@scripts/deps.sh

# Prints the DATABASE_URL to use.
db:
	@scripts/pg.sh

db-stop:
	@scripts/pg.sh stop

migrate: build
	@$(WITH_DB) ./$(BIN) migrate

run: deps build
	@$(WITH_DB) ./$(BIN) migrate && exec ./$(BIN) serve --config $(CONFIG)

test: deps build
	@$(WITH_DB) echo "make test: DATABASE_URL=$$DATABASE_URL"; \
		$(GO) vet ./... && \
		$(GO) test -race -count=1 -timeout 25m ./...

bench: deps bench-deps build
	@$(WITH_DB) $(GO) test -run '^$$' -bench . -benchmem ./...
	@if [[ -f scripts/bench-sipp.sh ]]; then $(WITH_DB) bash scripts/bench-sipp.sh; fi
	@# ARI REST ops/s with real calls (SIPp UAS and UAC); docs/benchmarks.md "ARI".
	@$(WITH_DB) HOTLINE_ARI_BENCH=1 $(GO) test -count=1 -timeout 10m -run '^TestARIBench$$' -v ./test/
	@# Analytics queries over a year of a million calls; docs/benchmarks.md "Analytics".
	@$(WITH_DB) HOTLINE_ANALYTICS_BENCH=1 $(GO) test -count=1 -timeout 40m -run '^TestAnalyticsBench$$' -v ./store/
	@$(MAKE) --no-print-directory bench-speech
	@$(MAKE) --no-print-directory bench-transcribe
	@$(MAKE) --no-print-directory bench-assist

# Speech recognition on a generated, labelled telephone-speech set
# (bench/speechset, written to var/speechset on first use): accuracy,
# confidence trade-off, real-time factor and latency. The report is printed
# and kept in var/bench/; docs/benchmarks.md "Speech" has the figures.
.PHONY: bench-deps bench-speech
bench-deps:
	@scripts/deps.sh --bench

bench-speech: bench-deps
	HOTLINE_SPEECH_BENCH=1 $(GO) test -count=1 -timeout 90m -run '^TestSpeechAccuracy$$' -v ./bench/speech/

# Live transcripts: the dictation engine's WER, work left at a phrase's end
# (whole vs as spoken), and end of speech -> phrase through the Vosk client,
# pinned to one CPU; docs/benchmarks.md "Live transcripts".
.PHONY: bench-transcribe
bench-transcribe: bench-deps
	HOTLINE_TRANSCRIBE_BENCH=1 taskset -c 0 $(GO) test -count=1 -timeout 20m -run '^TestIncrementalBench$$' -v ./speech/pocketsphinx/
	HOTLINE_TRANSCRIBE_BENCH=1 HOTLINE_TRANSCRIBE_SECONDS=60 HOTLINE_TRANSCRIBE_POOL=2 HOTLINE_TRANSCRIBE_STREAMS=1,2,3 \
		taskset -c 0 $(GO) test -count=1 -timeout 20m -run '^TestTranscribeBench$$' -v ./speech/vosk/

# Agent assist on generated telephone speech (bench/assist, set written to
# var/assistset on first use): transcript WER, intent, card precision@1,
# checklist ticks, a tenant's terms with and without its vocabulary; then
# transcribed calls per core, pinned to one CPU. Reports in var/bench/;
# docs/benchmarks.md "Agent assist accuracy" has the figures.
.PHONY: bench-assist
bench-assist: bench-deps
	HOTLINE_ASSIST_BENCH=1 $(GO) test -count=1 -timeout 60m -run '^TestAssistAccuracy$$' -v ./bench/assist/
	HOTLINE_ASSIST_BENCH=1 taskset -c 0 $(GO) test -count=1 -timeout 30m -run '^TestAssistLoad$$' -v ./bench/assist/

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files -co --exclude-standard '*.go')

# Fails listing the files gofmt would change.
fmt-check:
	@out="$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go'))"; \
		if [[ -n $$out ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin

# Also stops and deletes the private database.
distclean: clean
	-scripts/pg.sh stop
	@# var/pg may link to /var/tmp when the checkout is private to root.
	if [[ -L var/pg ]]; then rm -rf "$$(readlink -f var/pg)"; fi
	rm -rf var
