# shellcheck shell=bash
# Shared helpers for scripts/test.sh and scripts/demo.sh. Source it; don't run it.
#
# Environments are made with uv, which is installed into .venv-tools/ from PyPI by pip.
# Python interpreters are never downloaded: every environment uses $PYTHON (default python3).

BA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
UV="$BA_ROOT/.venv-tools/bin/uv"

# Never let uv download a Python build: environments use the interpreter found here.
export UV_PYTHON_DOWNLOADS=never
export UV_NO_PROGRESS=1
export PIP_DISABLE_PIP_VERSION_CHECK=1

ba_log() {
    printf '\n==> %s\n' "$*"
}

ba_warn() {
    printf 'WARNING: %s\n' "$*" >&2
}

# Install uv into .venv-tools/ unless it is there already.
ba_bootstrap_uv() {
    if [ -x "$UV" ] && "$UV" --version >/dev/null 2>&1; then
        return 0
    fi
    ba_log "Bootstrapping uv into .venv-tools/"
    local py
    py="$(command -v "$PYTHON")" || { echo "ERROR: $PYTHON not found" >&2; return 1; }
    rm -rf "$BA_ROOT/.venv-tools"
    "$py" -m venv "$BA_ROOT/.venv-tools"
    if ! "$BA_ROOT/.venv-tools/bin/python" -m pip install --quiet uv \
            >"$BA_ROOT/.venv-tools/bootstrap.log" 2>&1; then
        cat "$BA_ROOT/.venv-tools/bootstrap.log" >&2
        echo "ERROR: could not install uv with pip" >&2
        return 1
    fi
    "$UV" --version
}

# ba_make_env [--exact] [--python PY] [--with REQ]... [--without PKG]... DIR [EXTRA...]
# Create the virtual environment DIR (if missing) and install the package in editable mode
# with the given extras and the test dependency group. uv skips what is installed already.
# With --exact, packages the spec does not ask for are removed (so .venv-psycopg2 can never
# keep a psycopg 3 from an earlier install). --python picks the interpreter (default $PYTHON),
# --with adds a requirement (say "django>=6.1,<6.2"), --without keeps a dependency of the
# package out of the environment (the django6 leg runs without the django-tasks backport).
ba_make_env() {
    local exact="" py="$PYTHON" with=() without=()
    while [ "$#" -gt 0 ]; do
        case "$1" in
            --exact) exact="--exact"; shift ;;
            --python) py="$2"; shift 2 ;;
            --with) with+=("$2"); shift 2 ;;
            --without) without+=("$2"); shift 2 ;;
            *) break ;;
        esac
    done
    local dir="$1"
    shift
    local extras=""
    if [ "$#" -gt 0 ]; then
        extras="[$(IFS=,; echo "$*")]"
    fi
    ba_bootstrap_uv || return 1
    py="$(command -v "$py")" || { echo "ERROR: $py not found" >&2; return 1; }
    if [ ! -x "$BA_ROOT/$dir/bin/python" ]; then
        ba_log "Creating $dir ($("$py" --version 2>&1))"
        "$UV" venv --quiet --python "$py" "$BA_ROOT/$dir" || return 1
    fi
    # Skip uv altogether (no network) when this spec was installed into this environment
    # since pyproject.toml last changed. The stamp holds one key per installed spec.
    local stamp="$BA_ROOT/$dir/.bulk-admin-installed" key spec
    spec="$exact .$extras test ${with[*]:-} without ${without[*]:-}"
    key="$("$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read() + sys.argv[2].encode()).hexdigest())' \
        "$BA_ROOT/pyproject.toml" "$spec")" || return 1
    if [ -f "$stamp" ] && grep -qx "$key" "$stamp"; then
        echo "$dir is up to date"
        return 0
    fi
    ba_log "Installing into $dir: -e .$extras, group test${with[*]:+, ${with[*]}}${without[*]:+, without ${without[*]}}"
    # An exact install may remove what earlier specs installed: forget them.
    [ -n "$exact" ] && rm -f "$stamp"
    local args=() overrides="" pkg
    if [ "${#without[@]}" -gt 0 ]; then
        # An override whose marker is never true drops the requirement wherever it appears.
        overrides="$(mktemp "${TMPDIR:-/tmp}/bulk_admin_overrides.XXXXXX")" || return 1
        for pkg in "${without[@]}"; do
            printf '%s ; sys_platform == "never"\n' "$pkg" >>"$overrides"
        done
        args+=(--override "$overrides")
    fi
    for pkg in "${with[@]}"; do
        args+=("$pkg")
    done
    (
        cd "$BA_ROOT" &&
        "$UV" pip install --quiet $exact --python "$dir/bin/python" \
            --editable ".$extras" --group test "${args[@]}"
    ) || { rm -f "$overrides"; return 1; }
    rm -f "$overrides"
    for pkg in "${without[@]}"; do
        # Installed earlier by another spec: remove it now.
        "$UV" pip uninstall --quiet --python "$dir/bin/python" "$pkg" 2>/dev/null || true
    done
    echo "$key" >>"$stamp"
}

# Answering on 127.0.0.1:5432? Otherwise start the local cluster (Debian's pg_ctlcluster).
ba_ensure_postgres() {
    local host="${PGHOST:-127.0.0.1}" port="${PGPORT:-5432}"
    if ! command -v pg_isready >/dev/null 2>&1; then
        ba_warn "pg_isready not found; assuming PostgreSQL runs at $host:$port"
        return 0
    fi
    pg_isready -q -h "$host" -p "$port" && return 0
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        ba_log "Starting PostgreSQL"
        local version
        for version in /etc/postgresql/*/; do
            version="$(basename "$version")"
            pg_ctlcluster --skip-systemctl-redirect "$version" main start </dev/null || true
        done
    fi
    local _
    for _ in $(seq 1 30); do
        pg_isready -q -h "$host" -p "$port" && return 0
        sleep 1
    done
    ba_warn "PostgreSQL is not answering on $host:$port"
    return 1
}

# Answering on 127.0.0.1:3306? Otherwise start mariadbd in the background.
ba_ensure_mariadb() {
    if ! command -v mysqladmin >/dev/null 2>&1; then
        ba_warn "mysqladmin not found; assuming MariaDB runs at 127.0.0.1:3306"
        return 0
    fi
    mysqladmin -h127.0.0.1 -uroot --connect-timeout=2 ping >/dev/null 2>&1 && return 0
    if [ -x /usr/sbin/mariadbd ] && command -v start-stop-daemon >/dev/null 2>&1; then
        ba_log "Starting MariaDB"
        start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd </dev/null || true
    fi
    local _
    for _ in $(seq 1 30); do
        mysqladmin -h127.0.0.1 -uroot --connect-timeout=2 ping >/dev/null 2>&1 && return 0
        sleep 1
    done
    ba_warn "MariaDB is not answering on 127.0.0.1:3306"
    return 1
}

# Django's date lookups (__year, __date, Trunc...) on MariaDB with USE_TZ convert with
# CONVERT_TZ(), which gives NULL until the server's time zone tables are loaded.
ba_ensure_mariadb_time_zones() {
    command -v mysql >/dev/null 2>&1 || return 0
    local count
    count="$(mysql -h127.0.0.1 -uroot -N -e 'SELECT COUNT(*) FROM mysql.time_zone_name' 2>/dev/null)" \
        || return 0
    [ "${count:-0}" -gt 0 ] && return 0
    local tzinfo
    tzinfo="$(command -v mariadb-tzinfo-to-sql || command -v mysql_tzinfo_to_sql)" || {
        ba_warn "MariaDB has no time zone tables, and mysql_tzinfo_to_sql is missing"
        return 0
    }
    ba_log "Loading MariaDB's time zone tables from /usr/share/zoneinfo"
    "$tzinfo" /usr/share/zoneinfo 2>/dev/null | mysql -h127.0.0.1 -uroot mysql \
        || ba_warn "could not load MariaDB's time zone tables"
}

# Is Redis answering PING at HOST:PORT? Bash's /dev/tcp: no client program needed.
ba_redis_ping() {
    local reply=""
    { exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 1
    printf 'PING\r\n' >&3
    read -r -t 2 reply <&3 || true
    exec 3<&- 3>&-
    [ "${reply%$'\r'}" = "+PONG" ]
}

# ba_ensure_redis [HOST [PORT]]: answering? Otherwise start a local redis-server (keeping
# nothing on disk), as the project's machines do.
ba_ensure_redis() {
    local host="${1:-127.0.0.1}" port="${2:-6379}"
    ba_redis_ping "$host" "$port" && return 0
    case "$host" in
        127.0.0.1 | localhost)
            if command -v redis-server >/dev/null 2>&1; then
                ba_log "Starting Redis on port $port"
                redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" \
                    --appendonly no --dir "${TMPDIR:-/tmp}" >/dev/null </dev/null || true
            fi
            ;;
    esac
    local _
    for _ in $(seq 1 20); do
        ba_redis_ping "$host" "$port" && return 0
        sleep 0.5
    done
    ba_warn "Redis is not answering on $host:$port"
    return 1
}

# Install Debian packages that are missing (only as root with apt-get; otherwise warn).
ba_ensure_debs() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        return 0  # Not Debian: the developer installs the equivalents (see DEVELOPERS.md).
    fi
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        ba_warn "missing Debian packages: ${missing[*]} (install them as root)"
        return 0
    fi
    ba_log "Installing Debian packages: ${missing[*]}"
    ba_apt_install "${missing[@]}"
}

# ba_apt_install [OPTION...] PACKAGE...: apt-get update, then install. Another apt run on the
# machine (a second clone's CI, a developer) may hold apt's locks: wait up to 15 minutes.
ba_apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    local wait=(-o DPkg::Lock::Timeout=900) tries=0
    # apt-get update takes the lists lock, which DPkg::Lock::Timeout does not cover.
    until apt-get "${wait[@]}" update -qq </dev/null; do
        tries=$((tries + 1))
        [ "$tries" -ge 90 ] && return 1
        echo "apt-get update failed (lock held?); retrying in 10s" >&2
        sleep 10
    done
    apt-get "${wait[@]}" install -y -qq "$@" </dev/null
}
