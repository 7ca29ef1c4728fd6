#!/usr/bin/env bash
# Run the example project from a fresh clone: environment, migrations, a demo superuser
# (demo / demo), sample files, then the development server.
#
#   bash scripts/demo.sh
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bash scripts/demo.sh
#   PORT=8001 bash scripts/demo.sh
#   DEMO_NO_SERVER=1 bash scripts/demo.sh     # everything but runserver
#   WORKER=1 bash scripts/demo.sh             # PostgreSQL, imports in a db_worker process
#   WORKER=rq bash scripts/demo.sh            # PostgreSQL, imports in an RQ worker on Redis
#
# With WORKER (1 or db: django-tasks-db's db_worker; rq: an RQ worker through django-tasks-rq
# on $REDIS_URL, default redis://127.0.0.1:6379/0) the demo runs on PostgreSQL (DATABASE_URL,
# default postgres://postgres@127.0.0.1:5432/bulk_admin_demo, created if missing) with a cache
# that the web server and the worker share (a folder; Redis with rq), and writes a
# 1,000,000-row books_big.csv (ROWS sets another size). The worker runs in the background,
# logs to example_project/worker.log and stops with the server.
set -euo pipefail

# shellcheck source=scripts/_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$BA_ROOT"

PORT="${PORT:-8000}"
SAMPLES="example_project/sample_files/generated"
WORKER="${WORKER:-}"
case "$WORKER" in
    "" | 0) WORKER="" ;;
    1 | db) WORKER=db ;;
    rq) ;;
    *) echo "ERROR: WORKER must be 1 (or db) or rq, not '$WORKER'" >&2; exit 2 ;;
esac
if [ -n "$WORKER" ]; then
    export BULK_ADMIN_DEMO_WORKER="$WORKER"
    export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bulk_admin_demo}"
    export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
    ROWS="${ROWS:-1000000}"
else
    ROWS="${ROWS:-100000}"
fi

case "${DATABASE_URL:-}" in
    "") ;;
    postgres://* | postgresql://*)
        case "$DATABASE_URL" in
            *@127.0.0.1* | *@localhost* | *://127.0.0.1* | *://localhost*) ba_ensure_postgres ;;
        esac
        ;;
    *)
        echo "ERROR: DATABASE_URL must be a postgres:// or postgresql:// URL" >&2
        exit 2
        ;;
esac

ba_make_env .venv psycopg3 calamine import-export rq
PY="$BA_ROOT/.venv/bin/python"
manage() {
    (cd example_project && "$PY" manage.py "$@")
}

if [ -n "$WORKER" ]; then
    ba_log "Database of the worker demo: $DATABASE_URL"
    "$PY" - "$DATABASE_URL" <<'PYTHON'
import sys
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql

url = urlsplit(sys.argv[1])
name = unquote(url.path.lstrip("/"))
with psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True) as connection:
    if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        print(f"{name} is there")
    else:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"created {name}")
PYTHON
    if [ "$WORKER" = rq ]; then
        # redis://HOST[:PORT][/DB]: start a local server if none answers.
        redis_address="${REDIS_URL#redis://}"
        redis_address="${redis_address##*@}"
        redis_address="${redis_address%%/*}"
        redis_host="${redis_address%%:*}"
        redis_port=6379
        [ "$redis_address" != "$redis_host" ] && redis_port="${redis_address##*:}"
        ba_ensure_redis "$redis_host" "$redis_port"
    fi
fi

ba_log "Migrating (${DATABASE_URL:-SQLite: example_project/db.sqlite3})"
manage migrate --noinput

ba_log "Demo superuser demo / demo"
manage shell --no-imports -c '
from django.contrib.auth import get_user_model

user, created = get_user_model().objects.get_or_create(
    username="demo", defaults={"email": "demo@example.com"}
)
user.is_staff = user.is_superuser = user.is_active = True
user.set_password("demo")
user.save()
print("created" if created else "already there (password reset to demo)")
' </dev/null

ba_log "Sample files in $SAMPLES/"
manage make_sample_files --rows "$ROWS"

RUN=".venv/bin/python example_project/manage.py"
if [ -n "$WORKER" ]; then
    RUN="BULK_ADMIN_DEMO_WORKER=$WORKER DATABASE_URL=$DATABASE_URL $RUN"
elif [ -n "${DATABASE_URL:-}" ]; then
    RUN="DATABASE_URL=$DATABASE_URL $RUN"
fi
case "$WORKER" in
    db) WORKER_COMMAND=(db_worker) ;;
    rq) WORKER_COMMAND=(rqworker --job-class django_tasks_rq.Job default) ;;
    *) WORKER_COMMAND=() ;;
esac
cat <<EOF

==> Ready
  Admin:  http://127.0.0.1:$PORT/admin/   login demo / demo
  Files:  $SAMPLES/

  In the admin: open Books, click "Import (fast)", upload books.csv (authors.csv first),
  or books_big.csv ($ROWS rows) to watch the progress bar.
EOF
if [ -n "$WORKER" ]; then
    cat <<EOF

  Imports run in a worker process beside the web server (log: example_project/worker.log):
    $RUN ${WORKER_COMMAND[*]}
EOF
fi
cat <<EOF

  The same imports from a shell (authors first: books name their author):
    $RUN bulk_import library.Author $SAMPLES/authors.csv
    MAP="--map ISBN=isbn --map Title=title --map Author=author__name --map Price=price --map Published=published --map in_stock=in_stock --map Pages=pages"
    $RUN bulk_import library.Book $SAMPLES/books.csv \$MAP
    $RUN bulk_import library.Book $SAMPLES/books_with_errors.csv \$MAP --dry-run --json

  A bigger file; on PostgreSQL it loads through COPY:
    $RUN make_sample_files --rows 1000000
EOF

if [ -n "${DEMO_NO_SERVER:-}" ] && [ "${DEMO_NO_SERVER}" != "0" ]; then
    exit 0
fi
cd example_project
if [ -z "$WORKER" ]; then
    ba_log "Starting the development server (Ctrl+C stops it)"
    exec "$PY" manage.py runserver "127.0.0.1:$PORT"
fi
ba_log "Starting the worker: manage.py ${WORKER_COMMAND[*]}"
"$PY" manage.py "${WORKER_COMMAND[@]}" >worker.log 2>&1 &
WORKER_PID=$!
trap 'kill "$WORKER_PID" 2>/dev/null || true; wait "$WORKER_PID" 2>/dev/null || true' EXIT
sleep 2
if ! kill -0 "$WORKER_PID" 2>/dev/null; then
    cat worker.log >&2
    echo "ERROR: the worker exited at once (its log is above)" >&2
    exit 1
fi
ba_log "Starting the development server (Ctrl+C stops it and the worker)"
# runserver serves the static files itself (DEBUG is on) and answers each request in a thread
# of its own, so the pages and the progress polls stay responsive while the worker imports.
"$PY" manage.py runserver "127.0.0.1:$PORT" </dev/null
