# The two commands: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
# make is the local demo and test bench: what it runs has DEBUG on, unless DEBUG is set. With
# DEBUG off the settings refuse to start without production values (see README: Production).
export DEBUG ?= true

.PHONY: run test install lint migrate demo bench bench-import bench-results bench-esp-events clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

# The first pass runs now, so the worker has the demo's day-0 emails to deliver as soon as it
# starts; beat runs the next ones every 5 minutes.
demo: migrate
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py run_pass
	$(BIN)/python manage.py demo_admin

# Web admin on :8000, a Celery worker and celery-beat, until Ctrl-C.
run: demo
	PATH="$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run

# Tests keep their broker and mail under var/test, away from the demo's worker.
test: lint
	VAR_DIR=$(CURDIR)/var/test $(BIN)/pytest $(PYTEST_ARGS)

# The engine at 1,000,000 learners on PostgreSQL + Redis (see README: Benchmarks).
bench: install
	$(BIN)/python -m bench.engine $(BENCH_ARGS)

# 100,000 ESP events posted to the webhooks and applied, against 1,000,000 sends (README).
bench-esp-events: install
	$(BIN)/python -m bench.esp_events $(BENCH_ARGS)

# A campaign's results at 200,000 enrollments, and the overview of 50 campaigns (README).
bench-results: install
	$(BIN)/python -m bench.results $(BENCH_ARGS)

# The nightly full sync: 1,000,000 learners loaded, then the next night's export (2% changed)
# applied by the set-based path (see README: Benchmarks). The row-by-row importer's figure:
# manage.py bench_import --count 100000.
bench-import: migrate
	$(BIN)/python manage.py bench_sync --count 1000000

clean:
	rm -rf var/
