# The portal's commands. `make run` and `make test` are the README's quick start.
SHELL := /bin/bash
HERE := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal_bench
DEMO_DATABASE_SERVER ?= postgres://postgres@127.0.0.1:5432

.PHONY: run test check bench venv dev-venv env demo messages clean screenshots

$(VENV)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PIP) install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed
dev-venv: $(VENV)/.dev-installed

# The demo's own secrets, generated once; production takes them from the environment. DEMO, not
# DEBUG: the demo shows the portal's own error pages (DEBUG=true in .env for Django's). The
# database is named with them: its data are encrypted under this key, so a new .env (a new
# clone) gets a database of its own rather than one another checkout filled under another key.
# Its server is DEMO_DATABASE_SERVER when one answers there, otherwise an embedded PostgreSQL
# in var/postgres (portal/demo_postgres.py); .env remembers which.
.env:
	@umask 077 && { \
	  echo "DEMO=true"; \
	  echo "SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')"; \
	  echo "FIELD_ENCRYPTION_KEY=$$($(PYTHON) -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')"; \
	  $(PYTHON) $(HERE)portal/demo_postgres.py env $(DEMO_DATABASE_SERVER); \
	} > .env.new && mv .env.new .env
	@echo "Wrote .env with generated demo secrets."

env: .env

# The demo's database on its PostgreSQL (started first when it is the embedded one), migrated
# and filled with the demo people.
DEMO_POSTGRES := $(PY) -m portal.demo_postgres
DEMO_DATA := mkdir -p var/broker var/broker-control var/mail && $(PY) -m portal.database && \
	$(PY) manage.py migrate --noinput && \
	$(PY) manage.py seed_demo --credentials-out demo-credentials.json

# The embedded PostgreSQL, when started here, is stopped again however the recipe ends.
demo: venv .env
	@trap '$(DEMO_POSTGRES) stop' EXIT; $(DEMO_POSTGRES) start && $(DEMO_DATA)

run: venv .env
	@# The worker and the server run in sessions of their own, so Ctrl-C reaches only this shell,
	@# which stops both (each with its children; the worker's own "Warm shutdown" line is left
	@# out), then the embedded PostgreSQL if the demo uses
	@# one (pg_ctl runs it in a session of its own too), and says so once.
	@trap '$(DEMO_POSTGRES) stop' EXIT; \
	trap 'kill -TERM -- -$$worker -$$server 2>/dev/null; wait; $(DEMO_POSTGRES) stop; \
	  trap - EXIT; echo "Demo stopped."; exit 0' INT TERM; \
	$(DEMO_POSTGRES) start && $(DEMO_DATA) || exit 1; \
	echo ""; \
	echo "  Clinic portal:  http://127.0.0.1:$(PORT)/"; \
	echo "  Demo logins:    demo-credentials.json (e-mail, password, TOTP secret per role)"; \
	echo "  Sent e-mail:    var/mail/"; \
	echo ""; \
	setsid $(VENV)/bin/celery -A portal worker --beat --pool=solo --loglevel=error \
	  > >(grep --line-buffered -v 'Warm shutdown') 2>&1 & worker=$$!; \
	setsid $(PY) manage.py runserver 127.0.0.1:$(PORT) & server=$$!; \
	wait

test: dev-venv
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
	  $(VENV)/bin/pytest -n 2 --create-db -m "not celery" $(PYTEST_ARGS)
	@# Tests with a real Celery worker share one Redis queue: never two at once.
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
	  $(VENV)/bin/pytest --create-db -m celery $(PYTEST_ARGS)

# The clinic-scale benchmark (bench/README.md): seeds its own database once (BENCH_ARGS=--reseed
# to start over), prints a table and writes bench/results.json. Not part of CI.
bench: dev-venv
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
	  DJANGO_SETTINGS_MODULE=bench.settings $(PY) bench/run.py $(BENCH_ARGS)

# The README's screenshots (docs/screenshots/), from the demo `make run` serves on PORT.
screenshots: dev-venv
	$(PY) docs/screenshots.py --url http://127.0.0.1:$(PORT)

# Production settings for the deploy check: secrets made up on the spot, never used.
check: dev-venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/djlint --check templates --quiet
	$(VENV)/bin/djlint --lint templates
	DEBUG=false DEMO=false SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') \
	  FIELD_ENCRYPTION_KEY=$$($(PY) -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())') \
	  DATABASE_URL=sqlite://:memory: CELERY_BROKER_URL=$(TEST_BROKER_URL) ALLOWED_HOSTS=portal.example \
	  sh -c '$(PY) manage.py makemigrations --check --dry-run && $(PY) manage.py check --deploy --fail-level WARNING'

# Settings made up on the spot, like check's: the catalogue needs no database or secrets.
messages: dev-venv
	DEBUG=false DEMO=false SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') \
	  FIELD_ENCRYPTION_KEY=$$($(PY) -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())') \
	  DATABASE_URL=sqlite://:memory: CELERY_BROKER_URL=$(TEST_BROKER_URL) \
	  sh -c '$(PY) manage.py makemessages -l nl --no-obsolete --ignore=.venv --ignore=staticfiles --ignore=tests && $(PY) manage.py compilemessages --ignore=.venv'

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
