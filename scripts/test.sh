#!/usr/bin/env bash
# Run the test suite on every database leg, from a fresh clone with nothing installed.
#
#   bash scripts/test.sh                          # all legs
#   LEGS=sqlite bash scripts/test.sh -k mapping   # one leg; arguments go to pytest
#   JOBS=1 bash scripts/test.sh                   # one leg after the other (default: 2 at once)
#
# Legs: sqlite, postgres-psycopg3, postgres-psycopg2, mariadb (Django 5.2 with the django-tasks
# backport, on $PYTHON) and django6 (the latest Django 6.1 with its own django.tasks, on
# Python 3.12+: SQLite, then PostgreSQL; see scripts/_python.sh for where that Python comes
# from). "django6" stands for its two parts, django6-sqlite and django6-postgres, which can
# also be asked for alone. Every requested leg runs even when an earlier one fails. JUnit reports go to test-artifacts/; the last line of output is
# "N passed, N failed, N skipped" summed over the legs. The exit status is non-zero when a leg
# failed or could not run, or when no test ran at all.
set -uo pipefail

# shellcheck source=scripts/_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
# shellcheck source=scripts/_python.sh
source "$(dirname "${BASH_SOURCE[0]}")/_python.sh"
cd "$BA_ROOT" || exit 1

ALL_LEGS="sqlite postgres-psycopg3 postgres-psycopg2 mariadb django6-sqlite django6-postgres"
DJANGO52="django>=5.2,<5.3"
DJANGO61="django>=6.1,<6.2"
requested="${LEGS:-sqlite postgres-psycopg3 postgres-psycopg2 mariadb django6}"
LEGS=""
for leg in $requested; do
    case "$leg" in
        django6) LEGS="$LEGS django6-sqlite django6-postgres" ;;
        *) LEGS="$LEGS $leg" ;;
    esac
done
ARTIFACTS="$BA_ROOT/test-artifacts"

# Leg -> environment, database, expected PostgreSQL driver.
leg_venv() {
    case "$1" in
        postgres-psycopg2) echo .venv-psycopg2 ;;
        django6-*) echo .venv-django6 ;;
        *) echo .venv ;;
    esac
}
leg_db() {
    case "$1" in
        sqlite | django6-sqlite) echo sqlite ;;
        postgres-* | django6-postgres) echo postgres ;;
        mariadb) echo mariadb ;;
    esac
}
leg_driver() {
    case "$1" in
        postgres-psycopg3 | django6-postgres) echo psycopg ;;
        postgres-psycopg2) echo psycopg2 ;;
        *) echo "" ;;
    esac
}
leg_django() {  # The Django feature release the leg must run (tests/test_environment.py).
    case "$1" in
        django6-*) echo 6.1 ;;
        *) echo 5.2 ;;
    esac
}

for leg in $LEGS; do
    case " $ALL_LEGS " in
        *" $leg "*) ;;
        *) echo "ERROR: unknown leg '$leg' (known: $ALL_LEGS, django6)" >&2; exit 2 ;;
    esac
done

need() {  # need VENV|DB: does any requested leg use it?
    local leg
    for leg in $LEGS; do
        [ "$(leg_venv "$leg")" = "$1" ] || [ "$(leg_db "$leg")" = "$1" ] && return 0
    done
    return 1
}

START=$SECONDS
mkdir -p "$ARTIFACTS"

# System packages: chromium for the browser tests, the MariaDB client library for mysqlclient,
# GNU gettext for the check that the catalogues cover every marked string.
ba_ensure_debs pkg-config libmariadb-dev chromium gettext

# Database servers.
declare -A SETUP_ERROR=()
if need postgres && ! ba_ensure_postgres; then
    SETUP_ERROR[postgres]="PostgreSQL is not answering"
fi
if need mariadb; then
    if ba_ensure_mariadb; then
        ba_ensure_mariadb_time_zones
    else
        SETUP_ERROR[mariadb]="MariaDB is not answering"
    fi
fi
# Redis for the RQ tests (tests/test_rq.py), on the legs of .venv, which has django-tasks-rq.
# Each test uses a queue and cache prefix of its own on database 15.
export BULK_ADMIN_TEST_REDIS="${BULK_ADMIN_TEST_REDIS:-redis://127.0.0.1:6379/15}"
if need .venv; then
    ba_ensure_redis 127.0.0.1 6379 || ba_warn "the RQ tests will fail without Redis"
fi

# Environments. Django loads psycopg 3 whenever it is installed, so the psycopg2 leg gets an
# environment of its own without it.
if need .venv && ! ba_make_env --with "$DJANGO52" .venv psycopg3 mysql calamine import-export rq; then
    SETUP_ERROR[.venv]="could not install .venv"
fi
if need .venv-psycopg2 && ! ba_make_env --exact --with "$DJANGO52" .venv-psycopg2 mysql calamine import-export; then
    SETUP_ERROR[.venv-psycopg2]="could not install .venv-psycopg2"
fi
# Django 6.1 needs Python 3.12+, found or built by ba_python312; django.tasks is Django's own
# there, so the backport is kept out to prove the package runs without it.
if need .venv-django6; then
    if ! python312="$(ba_python312)"; then
        SETUP_ERROR[.venv-django6]="no Python 3.12+ (and building one failed)"
    elif ! ba_make_env --python "$python312" --with "$DJANGO61" --without django-tasks \
            .venv-django6 psycopg3 calamine import-export; then
        SETUP_ERROR[.venv-django6]="could not install .venv-django6"
    fi
fi
echo "Setup took $((SECONDS - START))s"

if [ -z "${BULK_ADMIN_CHROMIUM:-}" ] && command -v chromium >/dev/null 2>&1; then
    BULK_ADMIN_CHROMIUM="$(command -v chromium)"
    export BULK_ADMIN_CHROMIUM
fi

# Run the legs: $JOBS at a time (default 2 on a machine with 2 or more cores), each leg's
# output kept in test-artifacts/log-<leg>.txt and printed as one block when the leg ends.
JOBS="${JOBS:-$(n="$(nproc 2>/dev/null || echo 1)"; [ "$n" -ge 2 ] && echo 2 || echo 1)}"
run_leg() {  # run_leg LEG VENV DB DRIVER: one pytest run; writes test-artifacts/result-LEG
    local leg="$1" venv="$2" db="$3" driver="$4"
    local junit="$ARTIFACTS/junit-$leg.xml"
    ba_log "Leg $leg: $venv, BULK_ADMIN_TEST_DB=$db${driver:+, driver $driver}"
    "$venv/bin/python" "$BA_ROOT/scripts/_describe_env.py" "$db" \
        || ba_warn "could not describe the environment of leg $leg"
    local leg_start=$SECONDS
    # A test database and a media folder per leg: a plain pytest run elsewhere on this machine
    # (test database "test_test"), or another leg running at the same time, does not drop
    # them halfway through.
    local media
    media="$(mktemp -d "${TMPDIR:-/tmp}/bulk_admin_media_$leg.XXXXXX")"
    # The checkout's path in the name too: two clones or worktrees on one machine can run the
    # same leg at once without dropping each other's database.
    local db_name
    db_name="test_bulk_admin_${leg//-/_}_$(printf '%s' "$BA_ROOT" | cksum | cut -d' ' -f1)"
    local cache=()
    [ "$JOBS" -gt 1 ] && cache=(-p no:cacheprovider)  # .pytest_cache is not for two at once
    BULK_ADMIN_TEST_DB="$db" BULK_ADMIN_EXPECT_DRIVER="$driver" \
    BULK_ADMIN_EXPECT_DJANGO="$(leg_django "$leg")" \
    BULK_ADMIN_EXPECT_RQ="$([ "$venv" = .venv ] && echo 1 || echo 0)" \
    BULK_ADMIN_TEST_DB_NAME="$db_name" BULK_ADMIN_TEST_MEDIA="$media" \
        "$venv/bin/python" -m pytest "${cache[@]}" --junitxml="$junit" -o junit_suite_name="$leg" \
        "${PYTEST_ARGS[@]}" </dev/null
    local rc=$?
    rm -rf "$media"
    echo "$leg $rc $((SECONDS - leg_start))" >"$ARTIFACTS/result-$leg"
}

PYTEST_ARGS=("$@")
running=()  # legs started in the background whose output is not printed yet
flush() {  # print the output of the finished ones, in the order they started
    local leg still=()
    for leg in "${running[@]}"; do
        if [ -e "$ARTIFACTS/result-$leg" ]; then
            cat "$ARTIFACTS/log-$leg.txt"
        else
            still+=("$leg")
        fi
    done
    running=("${still[@]}")
}
[ "$JOBS" -gt 1 ] && ba_log "Running $JOBS legs at a time (JOBS=1: one after the other)"
for leg in $LEGS; do
    venv="$(leg_venv "$leg")"
    db="$(leg_db "$leg")"
    driver="$(leg_driver "$leg")"
    rm -f "$ARTIFACTS/junit-$leg.xml" "$ARTIFACTS/result-$leg" "$ARTIFACTS/log-$leg.txt"
    error="${SETUP_ERROR[$venv]:-${SETUP_ERROR[$db]:-}}"
    if [ -n "$error" ]; then
        ba_log "Leg $leg: not run ($error)"
        echo "$leg setup 0" >"$ARTIFACTS/result-$leg"
        continue
    fi
    if [ "$JOBS" -le 1 ]; then
        run_leg "$leg" "$venv" "$db" "$driver"
        continue
    fi
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
        wait -n
        flush
    done
    run_leg "$leg" "$venv" "$db" "$driver" >"$ARTIFACTS/log-$leg.txt" 2>&1 &
    running+=("$leg")
done
wait
flush
RESULTS=()  # "leg rc seconds" per leg, in the legs' order
for leg in $LEGS; do
    if [ -e "$ARTIFACTS/result-$leg" ]; then
        RESULTS+=("$(cat "$ARTIFACTS/result-$leg")")
    else
        RESULTS+=("$leg 1 0")  # a leg that died without a word
    fi
done

# Summarise from the JUnit reports.
ba_log "Summary (total $((SECONDS - START))s)"
"$PYTHON" - "$ARTIFACTS" "${RESULTS[@]}" <<'EOF'
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

artifacts = Path(sys.argv[1])
total = {"passed": 0, "failed": 0, "skipped": 0}
bad = False
print(f"{'leg':<20} {'result':<18} {'passed':>6} {'failed':>6} {'errors':>6} {'skipped':>7} {'time':>6}")
for item in sys.argv[2:]:
    leg, rc, seconds = item.split()
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    report = artifacts / f"junit-{leg}.xml"
    root = None
    if rc != "setup" and report.exists():
        try:
            root = ET.parse(report).getroot()
        except ET.ParseError:  # A leg killed while writing its report.
            pass
    if root is not None:
        for suite in [root] if root.tag == "testsuite" else root.iter("testsuite"):
            for key in counts:
                counts[key] += int(suite.get(key, 0))
    passed = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    failed = counts["failures"] + counts["errors"]
    if rc == "setup":
        result = "NOT RUN (setup)"
    elif root is None:
        result = f"ERROR (exit {rc})"
    elif rc in ("0", "5"):  # 5: pytest collected nothing (say, -k matched no test here).
        result = "ok" if counts["tests"] else "ok (no tests)"
    else:
        result = f"FAILED (exit {rc})"
    if not result.startswith("ok"):
        bad = True
        # A leg that broke without reporting a failing test still counts as one failure.
        failed = max(failed, 1)
    total["passed"] += passed
    total["failed"] += failed
    total["skipped"] += counts["skipped"]
    print(
        f"{leg:<20} {result:<18} {passed:>6} {counts['failures']:>6} {counts['errors']:>6}"
        f" {counts['skipped']:>7} {seconds + 's':>6}"
    )
if total["passed"] + total["failed"] == 0:
    print("No test ran.")
    bad = True
print(f"{total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped")
sys.exit(1 if bad else 0)
EOF
