# driftd — build, test and demo targets.
GO       ?= go
BIN      ?= bin/driftd
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)

# staticcheck, pinned; installed into GOPATH/bin from the module proxy
# when missing.
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck

# Fuzz targets as package:Target. `make test` fuzzes each for FUZZTIME
# beyond its committed seeds (which every plain `go test` runs);
# `make fuzz` for longer.
FUZZ_TARGETS := ./internal/config:FuzzParseDuration ./internal/config:FuzzParse \
	./internal/source/entra:FuzzGraphDecoding ./internal/source/cloudflare:FuzzCloudflareDecoding ./internal/source/cloudflare:FuzzRuleParsing \
	./report:FuzzTextWriters ./notify/slack:FuzzRender
FUZZTIME ?= 3s

.PHONY: all build demo test vet fmt-check staticcheck fuzz fuzz-short bench install clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/driftd

# Audit the built-in simulated tenant: no credentials, no network.
demo: build
	./$(BIN) demo

# What CI runs: formatting, vet, staticcheck, every test with the race
# detector (hostile servers and the fault campaign included), then a
# short fuzz of every target.
test: fmt-check vet staticcheck
	$(GO) test -race -count=1 -timeout 30m ./...
	$(MAKE) --no-print-directory fuzz-short

staticcheck:
	@test -x '$(STATICCHECK)' && '$(STATICCHECK)' -version | grep -q '$(STATICCHECK_VERSION:v%=%)' || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	'$(STATICCHECK)' ./...

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)

# Every fuzz target for FUZZTIME each (default here: 3s; try FUZZTIME=5m).
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Install the binary, the systemd unit and, if absent, /etc/driftd/config.toml.
# Honours PREFIX (default /usr/local), DESTDIR and UNITDIR; see deploy/install.sh.
install: build
	BIN='$(BIN)' sh deploy/install.sh

# The Go benchmarks, then the audit latency table (BENCHMARKS.md): wall
# time of complete audits against the simulator at 0, 20 and 100 ms per
# request, next to the round-trip lower bound; then `driftd run` at
# @every 1s for DRIFTD_BENCH_DAEMON_RUNS runs (default 200): memory, open
# files, store size and requests per run (about 5 minutes in all).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	DRIFTD_BENCH=1 $(GO) test -run '^TestBenchTable$$' -v -count=1 ./internal/audit/
	DRIFTD_BENCH=1 $(GO) test -run '^TestBenchDaemon$$' -v -count=1 -timeout 60m ./cmd/driftd/

clean:
	rm -rf bin

# The randomised fault campaign, 2000 audit cycles against the simulator
# (DRIFTD_CAMPAIGN_SEED=N replays one), and the hostile-server cases.
.PHONY: soak
soak:
	DRIFTD_SOAK=1 $(GO) test -count=1 -timeout 30m -run 'Hostile|Campaign' -v ./internal/audit/
