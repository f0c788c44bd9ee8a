# The two commands a newcomer needs: `make run` and `make test`.
CARGO ?= cargo
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: run test test-sqlite test-postgres sso-provider test-sdk test-contract test-postman fmt lint deny bench bench-scale

## Build and serve on the embedded SQLite file (./provisioning.db) at http://127.0.0.1:8080.
run:
	$(CARGO) run --release --locked --bin provisioning -- serve

## Every test on SQLite; on PostgreSQL too when TEST_DATABASE_URL is set; then the SDK walk
## (Commerce Layer's published JS packages against the real binary) when Node is installed.
test: test-sqlite
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== tests on PostgreSQL ($$TEST_DATABASE_URL)"; \
		$(CARGO) test --locked --test api; \
	fi
	@if command -v node >/dev/null && command -v npm >/dev/null; then \
		$(MAKE) --no-print-directory test-sdk; \
	else \
		echo "== SDK walk skipped: install Node.js and npm to run it"; \
	fi

## The SDK walk: @commercelayer/js-auth and @commercelayer/provisioning-sdk, unmodified.
test-sdk:
	@echo "== SDK walk"
	$(CARGO) build --locked --bin provisioning
	cd tests/sdk && npm install --no-package-lock --no-audit --no-fund --loglevel=error && \
		PROVISIONING_BIN="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/debug/provisioning" node --test --test-reporter=spec

## The served contract: schemathesis (installed into target/schemathesis-venv) runs every
## operation of /openapi.json against the binary on SQLite, all checks, stateful phase too.
test-contract:
	$(CARGO) build --locked --bin provisioning
	PROVISIONING_BIN="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/debug/provisioning" bash tests/schemathesis/run.sh

## The Postman collection in fixtures/postman, run by newman against the binary on SQLite.
test-postman:
	$(CARGO) build --locked --bin provisioning
	PROVISIONING_BIN="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/debug/provisioning" bash tests/postman/run.sh

test-sqlite: sso-provider
	@echo "== tests on SQLite"
	env -u TEST_DATABASE_URL $(CARGO) test --locked

## The integration tests on PostgreSQL (each test creates and drops its own database).
test-postgres: sso-provider
	TEST_DATABASE_URL=$(POSTGRES_URL) $(CARGO) test --locked --test api

## The OpenID provider the single sign-on tests start (panva's oidc-provider, tests/sso), when
## npm is installed; without it those tests say they were skipped (CI has it).
sso-provider:
	@if command -v npm >/dev/null; then \
		cd tests/sso && npm ci --no-audit --no-fund --loglevel=error; \
	else \
		echo "== single sign-on tests will be skipped: install Node.js and npm to run them"; \
	fi

fmt:
	$(CARGO) fmt

## The dependency tree against deny.toml: no banned crates, only the licenses it allows, only
## crates.io (`cargo install cargo-deny`). `cargo deny check advisories` needs the network.
deny:
	cargo deny --locked check bans licenses sources

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

## Requests per second against a minimal actix handler in the same run (needs wrk).
bench:
	@command -v wrk >/dev/null || { echo "bench needs wrk: apt-get install wrk"; exit 1; }
	$(CARGO) bench --locked --bench http

## A million API credentials on PostgreSQL against a thousand, then several instances behind
## HAProxy (throughput, revocation, shared rate limits) and one instance's memory.
bench-scale:
	@command -v wrk >/dev/null && command -v haproxy >/dev/null || { echo "bench-scale needs wrk and haproxy: apt-get install wrk haproxy"; exit 1; }
	POSTGRES_URL=$(POSTGRES_URL) $(CARGO) bench --locked --bench scale
