# hockeyops: `make demo` runs the pipeline on the bundled sample league; `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test drills lint bench sample clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py demo

# Tests use PostgreSQL for Django when a server answers on 127.0.0.1:5432 (CI), SQLite otherwise.
TEST_DATABASE_URL ?= $(shell pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && echo postgresql://postgres@127.0.0.1:5432/hockeyops)

test: setup
	$(PY) -m ruff check .
	DATABASE_URL=$(or $(DATABASE_URL),$(TEST_DATABASE_URL)) $(PY) -m pytest

# Fault drills against real services (minutes; not in `make test`): crashes, pauses, restarts, full disks, load.
drills: setup
	HOCKEYOPS_DRILLS=1 DATABASE_URL=$(or $(DATABASE_URL),$(TEST_DATABASE_URL)) $(PY) -m pytest tests/drills -v -s -p no:cacheprovider

lint: setup
	$(PY) -m ruff check .

bench: setup
	$(PY) bench/etl.py

sample: setup
	$(PY) manage.py sample_league --games 6 --seed 7 --out data/sample_league

clean:
	rm -rf var/output var/tmp
