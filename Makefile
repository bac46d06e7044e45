# Every module in the repo: the root and the nested adapter/bench/CI modules
# (not npm packages that happen to ship a go.mod under node_modules).
MODULES := $(shell find . -name go.mod -not -path './.git/*' -not -path '*/node_modules/*' -exec dirname {} \; | sort)
FUZZTIME ?= 10s

.PHONY: test lint fuzz bench deps installcheck

## test: gofmt, go vet and go test -race in every module (the README's test command)
test: lint
	@set -e; for m in $(MODULES); do \
		echo "== go test -race $$m"; \
		(cd $$m && go test -race -count=1 ./...); \
	done

lint:
	@set -e; for m in $(MODULES); do \
		echo "== gofmt, go vet $$m"; \
		out=$$(cd $$m && gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi; \
		(cd $$m && go vet ./...); \
	done

## fuzz: a short run of every fuzz target (see .ci/fuzz for how flakes are told from findings)
fuzz:
	FUZZTIME=$(FUZZTIME) ./.ci/fuzz

## installcheck: install the root and adapter modules the way users do, from a local module
## proxy built from the files git tracks, at v + the Version constant (see .ci/installcheck)
installcheck:
	cd .ci/installcheck && go run . -repo ../..

## bench: peer benchmarks, written to BENCHMARKS.md
bench:
	cd bench && ./run.sh

## deps: what the browser, interop and Redis tests need (Debian, as root): headless Chromium,
## Node.js packages for the interop fixtures (npm ci, from the lock file), redis-server (and
## redis-cli, for the Cluster test)
deps:
	command -v redis-server >/dev/null 2>&1 || (apt-get update && apt-get install -y --no-install-recommends redis-server)
	command -v chromium >/dev/null 2>&1 || (apt-get update && apt-get install -y --no-install-recommends chromium)
	command -v npm >/dev/null 2>&1 || (apt-get update && apt-get install -y --no-install-recommends nodejs npm)
	cd testdata/interop && npm ci --no-audit --no-fund
