#!/usr/bin/env bash
# Build (once) a real GMAT R2026a engine from the package registries alone and lay out a
# GMAT_ROOT that gmat-run drives. No GMAT yet? This gives you one:
#
#     eval "$(tests/gmat_real/build.sh | tail -n 1)"     # sets GMAT_ROOT
#
# The engine is PyPI's gmatpy 0.2.0 sdist (GMAT R2026a's C++ engine with SWIG bindings),
# compiled without NAIF SPICE (engine/build_engine.sh). Everything lands in a cache outside
# the checkout:
#
#     ${GMAT_SWEEP_DASK_CACHE:-~/.cache/gmat-sweep-dask}/gmat-R2026a/<key>/
#         engine.json   what was built, for which Python
#         site/gmatpy   the built wheel, installed with pip --target
#         wheel/        the wheel itself (pip-installable into a venv of that Python)
#         build.log     the build's output
#         root/         the GMAT_ROOT: bin/gmatpy (a door to site/gmatpy), api/, data/, output/
#
# <key> hashes the sdist's sha256, the Python it is built for, engine/build_engine.sh and
# engine/SpiceUsr.h; root/ is laid anew (in seconds) when layout/ or this script changes.
# The first call builds (about 10 minutes on 2 cores); later calls take well under a second.
# A build runs in a temporary directory renamed into place when complete, under a lock.
#
# Environment: GMAT_SWEEP_DASK_CACHE (cache base), GMAT_REAL_PYTHON (the CPython to build
# for; default python3 — the engine imports only under that Python's minor version),
# CMAKE_BUILD_PARALLEL_LEVEL (compile jobs; default nproc).
# Output: progress on stderr; the last line of stdout is `export GMAT_ROOT=<path>`.
# Exit status: 0 ready; 3 this machine cannot build it (no suitable Python, Debian packages
# missing and no root or apt-get to install them; the message says what is missing);
# 1 the build failed (its log's tail and path are printed). With 3, stdout's last line
# says why.
set -euo pipefail
exec 3>&1 1>&2

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GMATPY_VERSION=0.2.0
GMATPY_SDIST_SHA256=0489bf4e4c0c8c696d6ae653511c5a14bf0f4a286d39abeb83049e1d66db15d1
python="${GMAT_REAL_PYTHON:-python3}"
cache="${GMAT_SWEEP_DASK_CACHE:-$HOME/.cache/gmat-sweep-dask}/gmat-R2026a"

say() { echo "gmat_real/build.sh: $*"; }
die() { say "error: $*"; exit 1; }
cannot() { # also on stdout, for callers that report why (tests/run.sh)
    say "cannot build here: $*"
    echo "cannot build a real GMAT here: $*" >&3
    exit 3
}

python="$(command -v "$python")" || cannot "no Python '${GMAT_REAL_PYTHON:-python3}' on PATH"
pyinfo="$("$python" -c 'import sys, sysconfig
print("%d.%d" % sys.version_info[:2], sys.implementation.cache_tag, sysconfig.get_platform())
print(sys.executable)')" || cannot "$python does not run"
read -r py_version py_tag py_platform <<<"$(head -n 1 <<<"$pyinfo")"
python="$(tail -n 1 <<<"$pyinfo")" # the interpreter itself, not a shim
case "$py_tag" in cpython-*) ;; *) cannot "$python is not CPython ($py_tag)" ;; esac

hash_of() { sha256sum | cut -c1-16; }
engine_key="$(
    printf 'gmatpy==%s sdist-sha256=%s python=%s %s %s\n' \
        "$GMATPY_VERSION" "$GMATPY_SDIST_SHA256" "$py_version" "$py_tag" "$py_platform"
    cat "$here/engine/build_engine.sh" "$here/engine/SpiceUsr.h"
)"
engine_key="$(printf '%s' "$engine_key" | hash_of)"
layout_key="$(
    cd "$here"
    find layout -type f -print | LC_ALL=C sort | while read -r f; do
        printf '%s\n' "$f"
        cat "$f"
    done
    cat build.sh
)"
layout_key="$(printf '%s' "$layout_key" | hash_of)"
key_dir="$cache/$engine_key"
root="$key_dir/root"

mkdir -p "$cache"
exec 9>"$cache/.lock"
if ! flock -n 9; then
    say "waiting for another build.sh on $cache ..."
    flock 9
fi

# ---------------------------------------------------------------- Debian packages
ensure_debian_packages() {
    local want=(cmake ninja-build g++ make libf2c2-dev) missing=() pkg
    local include
    include="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
    if [ ! -f "$include/Python.h" ]; then
        case "$python" in
            /usr/bin/*) want+=("python$py_version-dev" "python$py_version-venv") ;;
            *) cannot "$python has no headers ($include/Python.h); use a Python with them" ;;
        esac
    fi
    for pkg in "${want[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing Debian packages: ${missing[*]}"
    [ "$(id -u)" -eq 0 ] || cannot "need root to apt-get install ${missing[*]} (or install them first)"
    command -v apt-get >/dev/null || cannot "no apt-get to install ${missing[*]} (install them first)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ---------------------------------------------------------------- engine (slow, once per key)
if [ ! -f "$key_dir/engine.json" ]; then
    ensure_debian_packages
    rm -rf "$cache"/.tmp-* # a killed build's leftovers; we hold the lock
    tmp="$cache/.tmp-$engine_key-$$"
    mkdir -p "$tmp" "$cache/logs"
    log="$cache/logs/build-$engine_key-$(date -u +%Y%m%dT%H%M%SZ).log"
    say "building GMAT R2026a (gmatpy $GMATPY_VERSION, no SPICE) for Python $py_version into $key_dir"
    say "about 10 minutes on 2 cores; log: $log"
    start=$SECONDS
    if ! bash "$here/engine/build_engine.sh" "$tmp" "$python" "$GMATPY_VERSION" \
        "$GMATPY_SDIST_SHA256" "$cache/sdist" >"$log" 2>&1; then
        tail -n 25 "$log" | sed 's/^/    /'
        rm -rf "$tmp"
        die "engine build failed; full log: $log"
    fi
    cat >"$tmp/engine.json" <<JSON
{
  "gmat": "R2026a",
  "gmatpy": "$GMATPY_VERSION",
  "sdist_sha256": "$GMATPY_SDIST_SHA256",
  "spice": false,
  "python": "$py_version",
  "python_tag": "$py_tag",
  "platform": "$py_platform",
  "built_with": "$python",
  "key": "$engine_key",
  "build_seconds": $((SECONDS - start)),
  "built_at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
JSON
    cp "$log" "$tmp/build.log"
    rm -rf "$key_dir" # only ever a dir without engine.json: not a complete build
    mv "$tmp" "$key_dir"
    say "engine built in $((SECONDS - start)) s"
fi

# ---------------------------------------------------------------- GMAT_ROOT (fast)
if [ "$(cat "$root/.layout-key" 2>/dev/null || true)" != "$layout_key" ]; then
    say "laying out GMAT_ROOT $root"
    rm -rf "$key_dir"/.root-tmp-*
    new="$key_dir/.root-tmp-$$"
    mkdir -p "$new"
    cp -R "$here/layout/." "$new/"
    mkdir -p "$new/output"
    ln -s ../site/gmatpy/data "$new/data"
    # Smoke test before the root goes live: import the engine through the door, Setup.
    GMAT_REAL_ROOT="$new" "$python" - <<'PY' || { rm -rf "$new"; die "smoke test of the new GMAT_ROOT failed"; }
import os, sys, time

sys.path.insert(1, os.path.join(os.environ["GMAT_REAL_ROOT"], "bin"))
t0 = time.perf_counter()
import gmatpy

gmatpy.Setup(os.path.join(os.environ["GMAT_REAL_ROOT"], "bin", "api_startup_file.txt"))
assert gmatpy.Moderator.Instance().IsInitialized()
print("gmat_real/build.sh: smoke test: engine up in %.2f s" % (time.perf_counter() - t0))
PY
    printf '%s\n' "$layout_key" >"$new/.layout-key"
    if [ -e "$root" ]; then
        mv "$root" "$key_dir/.root-tmp-old-$$"
    fi
    mv "$new" "$root"
    rm -rf "$key_dir/.root-tmp-old-$$"
fi

say "GMAT R2026a (no SPICE, Python $py_version) ready at $root"
printf 'export GMAT_ROOT=%q\n' "$root" >&3
