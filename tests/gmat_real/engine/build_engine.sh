#!/usr/bin/env bash
# Build GMAT R2026a's engine from PyPI's gmatpy sdist WITHOUT SPICE and install the wheel
# into <out>/site (pip --target). Called by ../build.sh, which holds the cache lock, checks
# the Debian packages and logs this script's output; the text of this file is part of the
# engine's cache key, so any change here rebuilds the engine.
#
# usage: build_engine.sh OUT PYTHON GMATPY_VERSION SDIST_SHA256 SDIST_DIR
#   OUT            empty directory that receives site/, wheel/, build-profile.json
#   PYTHON         the CPython the engine is built for (its minor version is the wheel's ABI)
#   SDIST_DIR      where the verified sdist is kept between builds
set -euo pipefail

out=$1 python=$2 version=$3 sha256=$4 sdist_dir=$5
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$out/work"
venv="$work/venv"
mkdir -p "$work" "$sdist_dir"

step() { printf '\n== %s: %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# Build front end and back end, pinned. The sdist asks for scikit-build-core>=1.0 and
# swig>=4.2,<5 (Debian 12's swig is 4.1.0, so SWIG comes from PyPI's binary wheel). cmake
# (>=3.19) and ninja come from Debian. numpy is not needed: the engine does not use it.
step "build venv ($("$python" --version 2>&1))"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "scikit-build-core==1.1.2" "build==1.6.1" "swig==4.5.1"

# The sdist: reuse the kept copy when its hash matches, otherwise download it. pip prepares
# the metadata of a source download, which with build isolation would try to build the
# build requirements (swig) from source too; the venv above already has them.
sdist="$sdist_dir/gmatpy-$version.tar.gz"
if [ -f "$sdist" ] && echo "$sha256  $sdist" | sha256sum --check --status; then
    step "sdist: kept copy $sdist"
else
    step "sdist: pip download gmatpy==$version"
    rm -rf "$work/download"
    "$venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
        --no-binary :all: --no-build-isolation "gmatpy==$version" -d "$work/download"
    got="$(sha256sum "$work/download/gmatpy-$version.tar.gz" | cut -d' ' -f1)"
    if [ "$got" != "$sha256" ]; then
        echo "build_engine.sh: gmatpy-$version.tar.gz has sha256 $got, expected $sha256" >&2
        exit 1
    fi
    mv -f "$work/download/gmatpy-$version.tar.gz" "$sdist"
fi

step "unpack and patch python/CMakeLists.txt (no SPICE)"
tar -xzf "$sdist" -C "$work"
src="$work/gmatpy-$version"
# Matched by content, each exactly once, or the build stops here:
#  - profile "minimal": GMAT's SWIG interface then leaves out SpiceKernelReader & co.
#    (otherwise the module fails to import on an undefined SpiceKernelReader typeinfo);
#  - GMAT_ENABLE_SPICE OFF: no -D__USE_SPICE__, so no SPICE call is compiled in;
#  - GMAT_PY_HAS_SPICE false: the wheel's BUILD_PROFILE.json says so.
"$venv/bin/python" - "$src/python/CMakeLists.txt" <<'PY'
import sys

path = sys.argv[1]
text = open(path, encoding="utf-8").read()
edits = [
    ('set(GMAT_PY_PROFILE "extended")\n', 'set(GMAT_PY_PROFILE "minimal")\n'),
    ('set(GMAT_ENABLE_SPICE ON CACHE BOOL "" FORCE)\n', 'set(GMAT_ENABLE_SPICE OFF CACHE BOOL "" FORCE)\n'),
    ("set(GMAT_PY_HAS_SPICE true)\n", "set(GMAT_PY_HAS_SPICE false)\n"),
]
for old, new in edits:
    count = text.count(old)
    if count != 1:
        sys.exit(f"patch: expected {old.strip()!r} once in {path}, found it {count} times")
    text = text.replace(old, new)
open(path, "w", encoding="utf-8").write(text)
print("patched", path)
PY
grep -n 'GMAT_PY_PROFILE "minimal"\|GMAT_ENABLE_SPICE OFF\|GMAT_PY_HAS_SPICE false' "$src/python/CMakeLists.txt"

# CMake still looks for CSPICE: SpiceUsr.h for the type names in GMAT's headers (our stub
# defines only those), a library to link (Debian's static f2c runtime, which MSISE needs
# anyway), and f2c.h.
f2c_lib="$(ls /usr/lib/*/libf2c.a /usr/lib/libf2c.a 2>/dev/null | head -n 1 || true)"
if [ -z "$f2c_lib" ] || [ ! -f /usr/include/f2c.h ]; then
    echo "build_engine.sh: libf2c.a or /usr/include/f2c.h missing (Debian package libf2c2-dev)" >&2
    exit 1
fi
mkdir -p "$work/spice-stub/include"
cp "$here/SpiceUsr.h" "$work/spice-stub/include/SpiceUsr.h"

jobs="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
step "build the wheel (python -m build --wheel --no-isolation, $jobs jobs; about 10 minutes on 2 cores)"
(
    cd "$src"
    PATH="$venv/bin:$PATH" CMAKE_BUILD_PARALLEL_LEVEL="$jobs" \
        "$venv/bin/python" -m build --wheel --no-isolation --outdir "$out/wheel" \
        -C "cmake.define.CSPICE_LIB=$f2c_lib" \
        -C "cmake.define.CSPICE_LIB_DEBUG=$f2c_lib" \
        -C "cmake.define.CSPICE_INCLUDE_DIR=$work/spice-stub/include" \
        -C "cmake.define.F2C_DIR=/usr/include"
)
wheel="$(ls "$out"/wheel/gmatpy-"$version"-*.whl)"
step "install $(basename "$wheel") into $out/site"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    --target "$out/site" "$wheel"
cp "$out/site/gmatpy/BUILD_PROFILE.json" "$out/build-profile.json"
cat "$out/build-profile.json"
if ! grep -q '"spice": false' "$out/build-profile.json"; then
    echo "build_engine.sh: the wheel does not report a no-SPICE build" >&2
    exit 1
fi
rm -rf "$work"
step "engine built"
