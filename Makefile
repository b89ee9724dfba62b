# The two commands: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run test install lint migrate demo bench bench-import bench-esp-events clean

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

# 100,000 learners imported from a CSV through the command-line importer.
bench-import: migrate
	$(BIN)/python manage.py bench_import --count 100000

clean:
	rm -rf var/
