#!/usr/bin/env bash
# Run the example project from a fresh clone: environment, migrations, a demo superuser
# (demo / demo), sample files, then the development server.
#
#   bash scripts/demo.sh
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bash scripts/demo.sh
#   PORT=8001 bash scripts/demo.sh
#   DEMO_NO_SERVER=1 bash scripts/demo.sh     # everything but runserver
set -euo pipefail

# shellcheck source=scripts/_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$BA_ROOT"

PORT="${PORT:-8000}"
SAMPLES="example_project/sample_files/generated"

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

ba_make_env .venv psycopg3
PY="$BA_ROOT/.venv/bin/python"
manage() {
    (cd example_project && "$PY" manage.py "$@")
}

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
manage make_sample_files --rows 100000

RUN=".venv/bin/python example_project/manage.py"
if [ -n "${DATABASE_URL:-}" ]; then
    RUN="DATABASE_URL=$DATABASE_URL $RUN"
fi
cat <<EOF

==> Ready
  Admin:  http://127.0.0.1:$PORT/admin/   login demo / demo
  Files:  $SAMPLES/

  In the admin: open Books, click "Import (fast)", upload books.csv (authors.csv first),
  or books_big.csv (100,000 rows) to watch the progress bar.

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
ba_log "Starting the development server (Ctrl+C stops it)"
cd example_project
exec "$PY" manage.py runserver "127.0.0.1:$PORT"
