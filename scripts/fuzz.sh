#!/usr/bin/env bash
# A long fuzz campaign of bulk_import with hostile CSV and XLSX files (tests/test_fuzz.py).
#
#   bash scripts/fuzz.sh                 # 50,000 inputs, a new seed, SQLite
#   bash scripts/fuzz.sh 200000 1234     # inputs, seed
#   BULK_ADMIN_TEST_DB=postgres bash scripts/fuzz.sh
#
# Every input runs through a worker process (tests/fuzz/worker.py) that may abort, hang or
# blow its memory without taking the campaign with it. The first finding stops the run, and
# Hypothesis shrinks it to a minimal file and prints it; add it to REGRESSIONS in
# tests/test_fuzz.py. The statistics at the end give the inputs run and the time taken.
set -euo pipefail

# shellcheck source=scripts/_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$BA_ROOT"

inputs="${1:-50000}"
seed="${2:-$(date +%s)}"
# The environment of the sqlite leg of scripts/test.sh: both XLSX readers, every driver.
ba_make_env --with "django>=5.2,<5.3" .venv psycopg3 mysql calamine import-export rq
db="${BULK_ADMIN_TEST_DB:-sqlite}"
[ "$db" = postgres ] && ba_ensure_postgres
[ "$db" = mariadb ] && ba_ensure_mariadb
ba_log "Fuzzing: $inputs inputs, seed $seed, database $db"
BULK_ADMIN_FUZZ_EXAMPLES="$inputs" BULK_ADMIN_FUZZ_SEED="$seed" BULK_ADMIN_TEST_DB="$db" \
BULK_ADMIN_TEST_DB_NAME="test_bulk_admin_fuzz_$$" \
    .venv/bin/python -m pytest tests/test_fuzz.py -k test_hostile_inputs_end_cleanly \
    -p no:cacheprovider -x --hypothesis-show-statistics </dev/null
