# Everyday tasks. `make help` lists them.

CARGO ?= cargo
BIN := $(or $(CARGO_TARGET_DIR),target)/release/listclean

.PHONY: help build build-pgo test lint fmt bench bench-dns demo fuzz golden clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## Build the release binary
	$(CARGO) build --release --locked

build-pgo: ## Build the release binary with profile-guided optimization (into target/pgo/release)
	bash scripts/pgo.sh

test: ## Run every test (unit, integration, peer suites, doc examples)
	$(CARGO) test --locked

lint: ## Format check, clippy and the docs, as before every commit
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --locked

fmt: ## Format the code
	$(CARGO) fmt --all

bench: ## Whole-command benchmark on 2M generated rows, release and PGO builds side by side with xsv; then the per-address criterion benchmark
	bash scripts/bench.sh
	$(CARGO) bench --locked --bench address

bench-dns: ## DNS-stage benchmark against the lab server with 20 ms added per answer
	bash scripts/bench.sh dns

# Not after `build`: the demo builds listclean together with the lab DNS server, an example
# whose dev-dependencies change the features of shared crates, so `build` first would compile
# listclean twice.
demo: ## Clean the bundled samples, verifying domains against a lab DNS server on 127.0.0.1
	bash scripts/demo.sh

fuzz: ## Run the fuzz targets, 10 minutes each (installs cargo-fuzz; FUZZ_SECONDS to change)
	bash scripts/fuzz.sh

clean:
	$(CARGO) clean
	rm -rf bench-data

golden: build ## Rewrite tests/golden/ from the samples (review the diff before committing)
	for s in crm_export_ja contacts_en; do $(BIN) clean samples/$$s.csv --no-dns -o tests/golden --quiet; done
	rm -f tests/golden/*.report.json
