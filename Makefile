# Nines build. Every target prints what it does; variables can be overridden:
#   make test GO=go1.26 GOTESTFLAGS=-v
GO         ?= go
BIN        ?= bin
FUZZTIME   ?= 30s
GOTESTFLAGS ?=
PKG        := github.com/ninesmon/nines
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS    := -s -w -X $(PKG)/internal/buildinfo.Version=$(VERSION) -X $(PKG)/internal/buildinfo.Revision=$(REVISION) -X $(PKG)/internal/buildinfo.BuildDate=$(BUILD_DATE)
# The agent is built without HTTP/2 (net/http's nethttpomithttp2 tag): it
# sends one request per interval to a collector and serves scrapes, which
# HTTP/1.1 does as well; the binary is 0.5 MB smaller, and so is its
# resident memory (bench/RESULTS.md).
AGENT_TAGS ?= nethttpomithttp2
STATICCHECK_VERSION ?= v0.8.2
# Debian packages of the real peers the tests start (installed when missing).
TEST_PACKAGES ?= dbus-daemon dnsmasq-base prometheus prometheus-alertmanager snmpd snmp chromium fonts-dejavu-core python3-aiosmtpd postgresql wine wine64 gcc-mingw-w64-x86-64 victoria-metrics rpm systemd wixl msitools

# axe-core, the accessibility checker the browser tests inject into the wall
# (npm package), kept in the user's cache directory; the tests read it there.
AXE_VERSION ?= 4.14.1
export NINES_AXE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/nines/axe

AGENT_TARGETS     := linux/amd64 linux/arm64 windows/amd64 darwin/amd64 darwin/arm64
COLLECTOR_TARGETS := linux/amd64 linux/arm64 windows/amd64
PACKAGE_ARCHS     ?= amd64 arm64

.PHONY: all help build run test test-deps bench lint fmt cross package msi fuzz clean check-config tidy-check

all: lint build ## lint and build (default)

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-13s %s\n", $$1, $$2}'

build: ## build both binaries into bin/, version stamped
	@echo ">> building nines-agent and nines-collector ($(VERSION))"
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(AGENT_TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN)/nines-agent ./agent/cmd/nines-agent
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/nines-collector ./collector/cmd/nines-collector

run: build ## run a collector (store in ./data) and a local agent; Ctrl-C stops both
	@echo ">> starting Nines"
	@./scripts/run.sh

test-deps: ## install the Debian packages of the real peers the tests start, and axe-core, when missing
	@./scripts/test-deps.sh $(TEST_PACKAGES)
	@# npm: Debian's package, unless Node.js with its own npm is installed (NodeSource's conflicts with it)
	@command -v npm >/dev/null || ./scripts/test-deps.sh npm
	@test -f $(NINES_AXE_DIR)/node_modules/axe-core/axe.min.js || npm install --no-audit --no-fund --prefix $(NINES_AXE_DIR) axe-core@$(AXE_VERSION)
	@if [ "$$(id -u)" -eq 0 ]; then ./scripts/redmine.sh install; else sudo ./scripts/redmine.sh install; fi

test: test-deps ## unit, integration and real-peer tests, with -race; then the model-based engine test at full speed
	@echo ">> running all tests with -race"
	$(GO) test -race -count=1 -timeout 20m $(GOTESTFLAGS) ./...
	@echo ">> model-based engine test, without -race, for NINES_MODEL_BUDGET (default 90s)"
	$(GO) test -count=1 -run '^TestModel$$' -v $(GOTESTFLAGS) ./collector/model

bench: ## Go benchmarks, then the side-by-side peer benchmarks in bench/ (results: bench/RESULTS.md)
	@echo ">> Go benchmarks"
	$(GO) test -run '^$$' -bench . -benchmem ./...
	@echo ">> ingest, side by side with VictoriaMetrics and InfluxDB 1.x"
	./scripts/test-deps.sh victoria-metrics influxdb
	bash bench/ingest.sh
	@echo ">> simulated fleet"
	bash bench/fleet.sh
	@echo ">> rule evaluation, side by side with Prometheus"
	bash bench/rules.sh
	@echo ">> SNMP, 1,000 simulated devices, side by side with snmp_exporter"
	bash bench/snmp.sh
	@echo ">> SNMP, one device with 120 interfaces, side by side with snmpbulkwalk and snmp_exporter (root)"
	bash bench/snmp-poll.sh
	@echo ">> the HA pair on PostgreSQL: 10,000 agents, 1,000 snmpd devices, kill -9 of the leader, 10 min (root)"
	bash bench/pair.sh
	@echo ">> agent, side by side with node_exporter"
	./scripts/test-deps.sh prometheus-node-exporter
	bash bench/agent.sh

lint: ## gofmt, go vet, staticcheck
	@echo ">> checking formatting"
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@echo ">> go vet"
	$(GO) vet ./...
	@echo ">> staticcheck"
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

cross: ## cross-compile both binaries for every supported platform (CGO_ENABLED=0)
	@echo ">> cross-compiling"
	@set -e; for t in $(AGENT_TARGETS); do \
		os=$${t%/*}; arch=$${t#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "   nines-agent $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -tags '$(AGENT_TAGS)' -ldflags '$(LDFLAGS)' -o dist/$$os-$$arch/nines-agent$$ext ./agent/cmd/nines-agent; \
	done
	@set -e; for t in $(COLLECTOR_TARGETS); do \
		os=$${t%/*}; arch=$${t#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "   nines-collector $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/$$os-$$arch/nines-collector$$ext ./collector/cmd/nines-collector; \
	done

package: ## .deb and .rpm packages of both binaries for each of PACKAGE_ARCHS, into dist/ (deploy/package)
	@echo ">> packaging $(VERSION) for $(PACKAGE_ARCHS)"
	@set -e; for arch in $(PACKAGE_ARCHS); do \
		for b in nines-agent nines-collector; do \
			CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/linux-$$arch/$$b ./$${b#nines-}/cmd/$$b; \
		done; \
		$(GO) run ./deploy/package -bin dist/linux-$$arch -arch $$arch -version '$(VERSION)' -out dist; \
	done

msi: ## the Windows installer, dist/nines-agent-windows-amd64.msi (wixl, from Debian's wixl package)
	@echo ">> building the Windows installer ($(VERSION))"
	@mkdir -p dist/windows-amd64
	CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $(GO) build -trimpath -tags '$(AGENT_TAGS)' -ldflags '$(LDFLAGS)' -o dist/windows-amd64/nines-agent.exe ./agent/cmd/nines-agent
	./scripts/msi.sh dist/windows-amd64/nines-agent.exe $(VERSION) dist/nines-agent-windows-amd64.msi

fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	@echo ">> fuzzing, $(FUZZTIME) per target"
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "   $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

check-config: build ## run both binaries' --check-config on deploy/examples
	./$(BIN)/nines-collector rules check deploy/examples/rules.yml

tidy-check: ## fail if go.mod/go.sum are not tidy (-e: a test-only module of modernc.org/sqlite is missing from the proxy)
	$(GO) mod tidy -e -diff

clean: ## remove build output
	rm -rf $(BIN) dist
