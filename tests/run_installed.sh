#!/usr/bin/env bash
# Run the test suite against the dlcore installed in the current Python environment (a wheel),
# never the source tree: the tests are copied to a temporary folder first, so the checkout's
# dlcore/ is not importable. Extra arguments go to pytest.
# Every kernel test also runs under DL_CPU=generic and DL_CPU=avx2, as a CPU without AVX-512
# (or without AVX2) would run it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$here" "$work/tests"
# pytest settings and markers; the README and example configs some tests read
cp -r "$here/../pyproject.toml" "$here/../README.md" "$here/../examples" "$work/"
cd "$work"
python - <<'PY'
import dlcore, dlcore.kernels as k
assert "site-packages" in dlcore.__file__, f"not an installed dlcore: {dlcore.__file__}"
assert k.get_backend() == "c", "the C kernels did not load"
print(f"testing the installed dlcore {dlcore.__version__} at {dlcore.__file__} "
      f"(best CPU path: {k.cpu_path()})")
PY
for cpu in generic avx2; do
    echo "== kernel tests with DL_CPU=$cpu"
    DL_CPU=$cpu python -m pytest tests/kernels -q "$@"
done
echo "== the whole suite (DL_CPU unset: the best path)"
python -m pytest tests -q "$@"
