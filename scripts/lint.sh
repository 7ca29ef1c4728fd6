#!/usr/bin/env bash
# Lint, type-check and build the docs, as a maintainer would before a release:
#   bash scripts/lint.sh
# ruff (check + format), mypy strict with django-stubs, and mkdocs build --strict.
set -euo pipefail

# shellcheck source=scripts/_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$BA_ROOT"

ba_bootstrap_uv
if [ ! -x .venv-lint/bin/python ]; then
    "$UV" venv --quiet --python "$(command -v "$PYTHON")" .venv-lint
fi
"$UV" pip install --quiet --python .venv-lint/bin/python --editable ".[psycopg3,calamine,import-export,rq]" \
    --group lint --group docs --group test

status=0
ba_log "ruff check"
.venv-lint/bin/ruff check . || status=1
ba_log "ruff format --check"
.venv-lint/bin/ruff format --check . || status=1
ba_log "mypy (strict)"
PYTHONPATH="$BA_ROOT" .venv-lint/bin/mypy bulk_admin || status=1
ba_log "mkdocs build --strict"
NO_MKDOCS_2_WARNING=1 .venv-lint/bin/mkdocs build --strict --site-dir "$(mktemp -d)" || status=1
exit "$status"
