#!/usr/bin/env bash
# Build the sdist and the wheel, check them, and try the wheel as a user would:
#
#   bash scripts/package.sh
#
# 1. `uv build` makes dist/django_bulk_admin-<version>.tar.gz and -py3-none-any.whl (hatchling);
# 2. `twine check --strict` checks their metadata and README rendering;
# 3. both archives must hold py.typed, the compiled French, German and Spanish catalogues,
#    the templates, static files and migrations (and the wheel no tests);
# 4. the wheel alone (no extras, no checkout on sys.path) goes into a fresh virtual
#    environment, which runs the example project's `manage.py check`, `migrate`, a
#    `bulk_import` of a sample file and a French translation lookup.
# Exits non-zero at the first failure. dist/ is left with the archives.
set -euo pipefail

# shellcheck source=scripts/_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$BA_ROOT"

START=$SECONDS
ba_bootstrap_uv

ba_log "Building the sdist and the wheel into dist/"
rm -rf dist
"$UV" build --quiet --out-dir dist
ls -l dist
sdist="$(ls dist/*.tar.gz)"
wheel="$(ls dist/*.whl)"

ba_log "twine check --strict"
"$UV" tool run --quiet --from twine twine check --strict "$sdist" "$wheel"

ba_log "Contents"
"$PYTHON" - "$sdist" "$wheel" <<'EOF'
import sys
import tarfile
import zipfile

sdist, wheel = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive:
    wheel_names = set(archive.namelist())
with tarfile.open(sdist) as archive:
    # Drop the leading "django_bulk_admin-<version>/".
    sdist_names = {name.partition("/")[2] for name in archive.getnames()}

required = [
    "bulk_admin/__init__.py",
    "bulk_admin/py.typed",
    "bulk_admin/migrations/0001_initial.py",
    "bulk_admin/templates/admin/bulk_admin/upload.html",
    "bulk_admin/static/bulk_admin/bulk_admin.css",
]
for language in ("fr", "de", "es"):
    for domain in ("django",):
        required.append(f"bulk_admin/locale/{language}/LC_MESSAGES/{domain}.mo")
        required.append(f"bulk_admin/locale/{language}/LC_MESSAGES/{domain}.po")
problems = []
for name in required:
    for label, names in (("wheel", wheel_names), ("sdist", sdist_names)):
        if name not in names:
            problems.append(f"{label} lacks {name}")
for name in ("tests/settings.py", "CHANGELOG.md", "pyproject.toml"):
    if name not in sdist_names:
        problems.append(f"sdist lacks {name}")
problems += [f"wheel ships {name}" for name in wheel_names if name.startswith(("tests/", "example_project/"))]
if problems:
    sys.exit("\n".join(problems))
catalogues = sorted(name for name in wheel_names if name.endswith(".mo"))
print(f"wheel: {len(wheel_names)} files, py.typed, catalogues: {', '.join(catalogues)}")
print(f"sdist: {len(sdist_names)} files")
EOF

ba_log "Installing the wheel into a fresh environment"
work="$(mktemp -d "${TMPDIR:-/tmp}/bulk_admin_wheel.XXXXXX")"
trap 'rm -rf "$work"' EXIT
"$UV" venv --quiet --python "$(command -v "$PYTHON")" "$work/venv"
"$UV" pip install --quiet --python "$work/venv/bin/python" "$wheel"
PY="$work/venv/bin/python"
# Run from inside the environment's folder: the checkout must not be importable.
(cd "$work" && "$PY" -c '
import sys
from importlib.metadata import version
from pathlib import Path

import bulk_admin

where = Path(bulk_admin.__file__).resolve()
assert (Path(sys.prefix) / "lib").resolve() in where.parents, f"bulk_admin imported from {where}"
assert (where.parent / "py.typed").exists()
print("django-bulk-admin", version("django-bulk-admin"), "from", where.parent)
')

export BULK_ADMIN_EXAMPLE_DB="$work/db.sqlite3" BULK_ADMIN_EXAMPLE_MEDIA="$work/media"
# manage.py puts example_project/ (not the checkout) first on sys.path.
manage() {
    "$PY" "$BA_ROOT/example_project/manage.py" "$@"
}
ba_log "manage.py check, migrate"
manage check
manage migrate --noinput -v 0
ba_log "bulk_import of a sample file"
manage make_sample_files --output-dir "$work/samples" --rows 0 >/dev/null
check_result() {  # check_result FILE.json: rows were created, none rejected.
    "$PY" - "$1" <<'EOF'
import json
import sys

result = json.load(open(sys.argv[1]))
print(json.dumps(result)[:300])
assert result["created"] > 0 and not result["errors"], result
EOF
}
manage bulk_import library.Author "$work/samples/authors.csv" --json >"$work/authors.json"
check_result "$work/authors.json"
# An XLSX file too: without the calamine extra, openpyxl reads it.
manage bulk_import library.Book "$work/samples/books.xlsx" --json --map ISBN=isbn \
    --map Title=title --map Author=author__name --map Price=price --map Published=published \
    --map in_stock=in_stock --map Pages=pages >"$work/books.json"
check_result "$work/books.json"
manage shell --no-imports -c '
from django.utils import translation

from library.models import Author, Book

assert Author.objects.count() > 0 and Book.objects.count() > 0
with translation.override("fr"):
    text = translation.gettext("Import (fast)")
assert text != "Import (fast)", "no French catalogue in the wheel"
print(f"{Author.objects.count()} authors, {Book.objects.count()} books; French: {text}")
' </dev/null

ba_log "Package checked in $((SECONDS - START))s: $(basename "$sdist"), $(basename "$wheel")"
