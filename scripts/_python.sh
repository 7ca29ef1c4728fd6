# shellcheck shell=bash
# A Python >= 3.12 for the django6 leg (Django 6 needs it). Source it after _env.sh.
#
# ba_python312 prints the path of a working python3.12+ and returns 0, in this order:
#   1. $DJANGO6_PYTHON, if set (it must be 3.12 or later);
#   2. python3.14, python3.13, python3.12 or python3 on PATH, if one runs and is 3.12+;
#   3. the CPython built earlier into $BA_PYTHON_CACHE (default
#      ${XDG_CACHE_HOME:-$HOME/.cache}/bulk_admin/), outside the clone so every clone reuses it;
#   4. otherwise it builds one there from the python3.13 source package of Debian's trixie
#      suite, fetched with `apt-get source` through a sources list of its own (the system's
#      lists and caches are never touched). Building needs the C toolchain and the Python
#      build dependencies; as root they are installed with apt-get when missing.
# Progress goes to stderr, so `py="$(ba_python312)"` captures only the path.

BA_PYTHON_CACHE="${BA_PYTHON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bulk_admin}"
BA_PYTHON_SUITE="${BA_PYTHON_SUITE:-trixie}"
BA_PYTHON_MIRROR="${BA_PYTHON_MIRROR:-http://deb.debian.org/debian}"
# Debian package names of CPython's build dependencies (the optional modules included).
BA_PYTHON_BUILD_DEPS="build-essential pkg-config dpkg-dev xz-utils libssl-dev libffi-dev
zlib1g-dev libbz2-dev libreadline-dev libsqlite3-dev liblzma-dev libncurses-dev uuid-dev
libgdbm-dev libgdbm-compat-dev tk-dev libexpat1-dev"

# _ba_python_ok PYTHON: does it run, and is it 3.12 or later?
_ba_python_ok() {
    [ -n "$1" ] && "$1" -c 'import sys, ssl, sqlite3, zlib; sys.exit(sys.version_info < (3, 12))' \
        >/dev/null 2>&1
}

ba_python312() {
    local candidate
    if [ -n "${DJANGO6_PYTHON:-}" ]; then
        if _ba_python_ok "$DJANGO6_PYTHON"; then
            command -v "$DJANGO6_PYTHON"
            return 0
        fi
        echo "ERROR: DJANGO6_PYTHON=$DJANGO6_PYTHON is not a working Python 3.12+" >&2
        return 1
    fi
    for candidate in python3.14 python3.13 python3.12 python3; do
        candidate="$(command -v "$candidate" 2>/dev/null)" || continue
        if _ba_python_ok "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    local prefix="$BA_PYTHON_CACHE/python3.13"
    if [ -f "$prefix/.complete" ] && _ba_python_ok "$prefix/bin/python3.13"; then
        echo "$prefix/bin/python3.13"
        return 0
    fi
    mkdir -p "$BA_PYTHON_CACHE" || return 1
    # One build at a time, even with two clones running this at once.
    (
        if command -v flock >/dev/null 2>&1; then
            flock -w 1800 9 || { echo "ERROR: $BA_PYTHON_CACHE/python.lock is held" >&2; exit 1; }
        fi
        if [ -f "$prefix/.complete" ] && _ba_python_ok "$prefix/bin/python3.13"; then
            exit 0
        fi
        _ba_build_python "$prefix"
    ) 9>"$BA_PYTHON_CACHE/python.lock" >&2 || return 1
    echo "$prefix/bin/python3.13"
}

# _ba_build_python PREFIX: fetch Debian's python3.13 source and install CPython into PREFIX.
_ba_build_python() {
    local prefix="$1" work start=$SECONDS
    ba_log "No Python 3.12+ found: building CPython 3.13 from Debian $BA_PYTHON_SUITE's source into $prefix"
    _ba_python_build_deps || return 1
    work="$(mktemp -d "${TMPDIR:-/tmp}/bulk_admin_python.XXXXXX")" || return 1
    # A sources list, lists folder and cache of this build's own: apt-get update with them
    # reads only the trixie deb-src line and leaves the system's package lists alone.
    mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/src"
    printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
        "$BA_PYTHON_MIRROR" "$BA_PYTHON_SUITE" >"$work/apt/sources.list"
    local apt_opts=(
        -o "Dir::Etc::SourceList=$work/apt/sources.list"
        -o "Dir::Etc::SourceParts=-"
        -o "Dir::State::Lists=$work/apt/lists"
        -o "Dir::Cache=$work/apt/cache"
        -o "Dir::Cache::pkgcache="
        -o "Dir::Cache::srcpkgcache="
        -o "APT::Sandbox::User=root"
    )
    apt-get "${apt_opts[@]}" -qq update </dev/null || {
        echo "ERROR: apt-get update of the $BA_PYTHON_SUITE deb-src list failed" >&2
        rm -rf "$work"
        return 1
    }
    # --download-only: the upstream tarball is all the build needs (Debian's patches adapt
    # CPython to Debian's own layout, which a private prefix does not want).
    (cd "$work/src" && apt-get "${apt_opts[@]}" -qq source --download-only python3.13 </dev/null) || {
        echo "ERROR: apt-get source python3.13 ($BA_PYTHON_SUITE) failed" >&2
        rm -rf "$work"
        return 1
    }
    local tarball
    tarball="$(ls "$work"/src/python3.13_*.orig.tar.* 2>/dev/null | head -n 1)"
    if [ -z "$tarball" ]; then
        echo "ERROR: no upstream tarball in the python3.13 source package" >&2
        rm -rf "$work"
        return 1
    fi
    echo "Building $(basename "$tarball")"
    tar -xf "$tarball" -C "$work/src" || { rm -rf "$work"; return 1; }
    local srcdir
    srcdir="$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'Python-*' | head -n 1)"
    [ -n "$srcdir" ] || srcdir="$(find "$work/src" -mindepth 2 -maxdepth 2 -name configure -printf '%h\n' | head -n 1)"
    rm -rf "$prefix"
    (
        cd "$srcdir" &&
        ./configure --prefix="$prefix" --with-ensurepip=install >"$work/configure.log" 2>&1 &&
        make -j"$(nproc 2>/dev/null || echo 2)" >"$work/make.log" 2>&1 &&
        make altinstall >"$work/install.log" 2>&1
    ) || {
        tail -n 40 "$work"/*.log >&2
        echo "ERROR: building CPython failed (logs above; sources in $work)" >&2
        return 1
    }
    if ! _ba_python_ok "$prefix/bin/python3.13"; then
        echo "ERROR: the CPython built into $prefix lacks ssl, sqlite3 or zlib" >&2
        return 1
    fi
    touch "$prefix/.complete"
    rm -rf "$work"
    echo "Built $("$prefix/bin/python3.13" --version) in $((SECONDS - start))s"
}

# Install the missing build dependencies (as root on Debian; elsewhere say what is missing).
_ba_python_build_deps() {
    command -v dpkg-query >/dev/null 2>&1 || return 0
    local missing=() pkg
    # shellcheck disable=SC2086
    for pkg in $BA_PYTHON_BUILD_DEPS; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "ERROR: install the Python build dependencies first: apt-get install ${missing[*]}" >&2
        return 1
    fi
    ba_log "Installing Python build dependencies: ${missing[*]}"
    ba_apt_install --no-install-recommends "${missing[@]}"
}
