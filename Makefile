# driftd — build, test and demo targets.
GO       ?= go
BIN      ?= bin/driftd
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)

.PHONY: all build demo test vet fmt-check bench install clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/driftd

# Audit the built-in simulated tenant: no credentials, no network.
demo: build
	./$(BIN) demo

# What CI runs.
test: fmt-check vet
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Install the binary, the systemd unit and, if absent, /etc/driftd/config.toml.
# Honours PREFIX (default /usr/local), DESTDIR and UNITDIR; see deploy/install.sh.
install: build
	BIN='$(BIN)' sh deploy/install.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin

# The randomised fault campaign, 2000 audit cycles against the simulator
# (DRIFTD_CAMPAIGN_SEED=N replays one), and the hostile-server cases.
.PHONY: soak
soak:
	DRIFTD_SOAK=1 $(GO) test -count=1 -timeout 30m -run 'Hostile|Campaign' -v ./internal/audit/
