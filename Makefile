# Visitscore: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DATA ?= ./data

.PHONY: run test setup lock chromium postgresql bench-tools lint messages bench bench-large clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Everything installs from the committed lock (hashes checked); `make lock` refreshes it.
$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

setup: $(STAMP)

# Re-resolve every dependency (runtime, tests, build backend) to the newest allowed
# by pyproject.toml, for every platform, with hashes.
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet 'uv>=0.9'
	$(BIN)/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 \
		--generate-hashes --upgrade --custom-compile-command "make lock" -o requirements.lock

# Debian's Chromium for the browser tests; Playwright never downloads a browser here.
chromium:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || { \
		(apt-get update -qq || true) && \
		apt-get install -y -o DPkg::Lock::Timeout=600 chromium; }

# Debian's PostgreSQL server for the tests (each test session starts its own throwaway
# cluster in /tmp; nothing listens outside the tests).
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		(apt-get update -qq || true) && \
		apt-get install -y -o DPkg::Lock::Timeout=600 postgresql; }

# The benchmarks' baselines: libjpeg-turbo's djpeg (benchmarks/photos.py) and wrk
# (benchmarks/reports.py's throughput).
bench-tools:
	@command -v djpeg >/dev/null 2>&1 && command -v wrk >/dev/null 2>&1 || { \
		(apt-get update -qq || true) && \
		apt-get install -y -o DPkg::Lock::Timeout=600 libjpeg-turbo-progs wrk; }
	@test -f benchmarks/node/node_modules/lighthouse/cli/index.js || \
		npm ci --prefix benchmarks/node --no-audit --no-fund --loglevel=error

run: $(STAMP)
	@test -f $(DATA)/visitscore.db || $(BIN)/visitscore demo --data-dir $(DATA)
	$(BIN)/visitscore serve --host $(HOST) --port $(PORT) --data-dir $(DATA)

# The whole suite on SQLite (its PostgreSQL and S3 tests on their own throwaway servers),
# then the API, page and permission suites again with PostgreSQL as the database.
PG_SUITES = tests/api tests/views tests/test_auth.py tests/test_permissions.py \
	tests/test_zones.py tests/test_summaries.py
test: $(STAMP) chromium postgresql
	$(BIN)/ruff check server tests benchmarks
	$(BIN)/python -m pytest
	VISITSCORE_TEST_ENGINE=postgresql $(BIN)/python -m pytest -q $(PG_SUITES) \
		--deselect tests/api/test_chaos.py

lint: $(STAMP)
	$(BIN)/ruff check server tests benchmarks
	$(BIN)/ruff format --check server tests benchmarks

# Re-extract messages after changing user-facing strings, then translate the .po files.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -o server/locale/messages.pot --no-location --sort-output \
		--omit-header -w 100 .
	$(BIN)/pybabel update -i server/locale/messages.pot -d server/locale --no-fuzzy-matching -w 100

# Benchmarks print ratios against baselines measured in the same run. `make bench` uses a
# small size (10k against 100k visits, kept in .bench/; about 12 minutes); `make
# bench-large` the 1M one (about 2 GB more in .bench/, each 1M build 3 to 4 minutes).
# Each script starts after `sync`: a fsync of the one before's gigabytes still being
# written back made ingest's p99 three times worse.
BENCH_LARGE ?= 100000
BENCHMARKS = "pages.py --large $(BENCH_LARGE) --keep .bench" \
	"exports.py --large $(BENCH_LARGE) --keep .bench" \
	"reports.py --visits $(BENCH_LARGE)" "ingest.py" "first_load.py" "photos.py" "durability.py" \
	"photo_store.py" "at_rest.py --visits $(BENCH_LARGE)" "ingest_servers.py" \
	"engines.py --visits $(BENCH_LARGE)" "lists.py --visits $(BENCH_LARGE) --keep .bench" \
	"lighthouse.py"
bench: $(STAMP) chromium postgresql bench-tools
	@mkdir -p .bench; missed=""; for script in $(BENCHMARKS); do echo "== $$script"; \
		sync; $(BIN)/python benchmarks/$$script || missed="$$missed\n  $$script"; done; \
		if [ -n "$$missed" ]; then printf "targets missed by:$$missed\n"; exit 1; fi; \
		echo "every target met"

bench-large:
	$(MAKE) bench BENCH_LARGE=1000000

clean:
	rm -rf $(VENV) .pytest_cache .bench
