# promlab — the one entry point for dev tasks. `make help` lists targets.
SHELL := /bin/bash
CARGO ?= cargo
PROMLAB_IMAGES ?= compose/images.local.yaml
export PROMLAB_IMAGES

.PHONY: help build run images fmt lint lint-labs test test-clock validate bench ci clean
.PHONY: install

# Where `make install` puts promlab: PREFIX/bin, else cargo's own choice (CARGO_INSTALL_ROOT,
# CARGO_HOME, ~/.cargo).
INSTALL_BIN = $(or $(PREFIX),$(CARGO_INSTALL_ROOT),$(CARGO_HOME),$(HOME)/.cargo)/bin

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

build: ## build the promlab binary
	$(CARGO) build --release

images: ## build every offline image from Debian packages (idempotent), then the demo/sink images
	bash compose/images/build-local.sh
	$(CARGO) build --release
	./target/release/promlab images build-local

run: images install ## set up and start a lab: make run LAB=1.1
	$(INSTALL_BIN)/promlab up $(or $(LAB),1.1)

install: ## put promlab on PATH (cargo install into ~/.cargo/bin, or PREFIX/bin); it finds its labs here
	$(CARGO) install --path . --locked $(if $(PREFIX),--root $(PREFIX))
	@case ":$$PATH:" in *":$(INSTALL_BIN):"*) echo "promlab is installed: $(INSTALL_BIN)/promlab";; \
	  *) echo "promlab is installed in $(INSTALL_BIN), which is not on your PATH: add it, e.g. export PATH=\"$(INSTALL_BIN):\$$PATH\"";; esac

fmt: ## format the code
	$(CARGO) fmt --all

lint: ## formatting, clippy (warnings are errors) and forbidden patterns
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	@! grep -rnE '\b(dbg!|todo!|unimplemented!)' src/ || (echo "forbidden macro in src/"; exit 1)

lint-labs: build ## lint every lab manifest, stack and images file (no Docker)
	./target/release/promlab lint

# When `make test` started (its wall time is printed at the end, the CI figure).
TEST_CLOCK := target/.make-test-started

test-clock:
	@mkdir -p target && date +%s > $(TEST_CLOCK)

test: test-clock images lint ## everything CI runs: images, lint, all tests (the live ones, marked ignored, too), lab lint, validate (with its slowest labs and phases), coverage, wall time
	set -o pipefail; $(CARGO) test --release -- --include-ignored --test-threads=2 2>&1 \
	  | awk '{ print; fflush() } /^test result:/ && !/ 0 ignored;/ { bad = 1 } END { if (bad) { print "make test: some tests were ignored; CI runs them all (run with --include-ignored)"; exit 1 } }'
	./target/release/promlab lint
	./target/release/promlab validate --all --retries 1
	@echo; echo "coverage (topics with an offline lab validated live above, online-only labs, planned topics):"
	@./target/release/promlab lint
	@echo; echo "make test: wall time $$(( $$(date +%s) - $$(cat $(TEST_CLOCK)) ))s"

validate: build ## prove every lab live: starter fails, near-misses fail, solution passes
	./target/release/promlab validate --all --retries 1

bench: build ## benchmarks (writes compose/bench/results.md)
	bash compose/bench/bench.sh

ci: test ## same as CI

clean: ## remove build output and every promlab container
	-./target/release/promlab down --all
	$(CARGO) clean
