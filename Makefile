# The two set-up commands of the README are `make demo` and `make test`.
# Everything installs from the lock file into .venv; uv itself comes from PyPI.
PY ?= python3
VENV := .venv
UV := $(VENV)/bin/uv
CHILDREN ?= 2000
# Test processes (pytest-xdist): a test file stays in one, since its module fixtures build whole
# pipeline runs; most tests wait on one child process each, so two fill two cores.
TEST_WORKERS ?= 2
# Trust the platform's certificate store (a TLS-intercepting proxy's CA lives there).
export UV_SYSTEM_CERTS := 1

.PHONY: install superset system-deps bench-deps demo test lint typecheck bench bench-anonymizers clean

$(UV):
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8

install: $(UV)
	$(UV) sync --frozen --python $(VENV)/bin/python

# Superset runs in its own virtualenv (it pins sqlalchemy<2 and pandas<2.2).
superset: install
	dashboards/install_superset.sh

# Headless Chromium for the tests that look at a page as a person would (needs root or sudo).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

demo: install
	$(VENV)/bin/merajut demo --children $(CHILDREN)

test: install superset system-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports

typecheck: install
	$(VENV)/bin/mypy

# wrk drives the load benchmark (Debian's package; needs root or sudo).
bench-deps:
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk; }

bench: install bench-deps
	$(VENV)/bin/python -m bench.pipeline
	$(VENV)/bin/python -m bench.api
	$(VENV)/bin/python -m bench.load
	$(VENV)/bin/python -m bench.disclosure

# Our k-anonymity engines against anjana, anonypy and anonypyx (bench/anonymizers.py). The other
# tools are no project dependencies: they install into their own venv, .bench-venv, from the
# hashed pins in bench/anonymizers-requirements.txt. Writes its section of docs/benchmarks.md.
ANONYMIZER_RECORDS ?= 1000000
bench-anonymizers: install
	$(UV) venv --allow-existing --python $(VENV)/bin/python .bench-venv
	$(UV) pip sync --python .bench-venv/bin/python --require-hashes bench/anonymizers-requirements.txt
	$(VENV)/bin/python -m bench.anonymizers --records $(ANONYMIZER_RECORDS) --write-docs

clean:
	rm -rf lake .merajut dbt_project/target dbt_project/logs
