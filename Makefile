# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
# uv is bootstrapped into .venv-tools/ when it is not on PATH.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo .venv-tools/bin/uv)
export XDG_RUNTIME_DIR ?= /tmp/scaliyo-runtime-$(shell id -u)

.PHONY: run test lint bench sync clean-data

$(UV):
	python3 deploy/bootstrap_uv.py

sync: $(UV)
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)
	$(UV) sync --frozen --quiet

run: sync
	$(UV) run --frozen scaliyo dev

lint: sync
	$(UV) run --frozen ruff check src tests bench deploy
	$(UV) run --frozen ruff format --check src tests bench deploy
	$(UV) run --frozen lint-imports

test: lint
	$(UV) run --frozen pytest -q

bench: sync
	@for script in bench/*.py; do echo "== $$script"; $(UV) run --frozen python $$script || exit 1; done

clean-data:
	rm -rf .scaliyo
