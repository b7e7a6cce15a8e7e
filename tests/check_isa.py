"""Check a built extension for instructions a baseline x86-64 CPU lacks.

Wheels must run on any x86-64, so VEX/EVEX-encoded instructions (AVX, AVX2, FMA, AVX-512) may
appear only inside the functions compiled with a target attribute, which by convention carry
the instruction set in their name (`*_avx2*`, `*_avx512*`). Usage:
`python tests/check_isa.py path/to/_c.so` (exit 1 and a list of offenders when it fails).
"""
import re
import subprocess
import sys

ALLOWED = re.compile(r"avx2|avx512")
SYMBOL = re.compile(r"^[0-9a-f]+ <(?P<name>[^>]+)>:$")
# VEX/EVEX instructions start with "v" (vaddps, vfmadd231ps, vpbroadcastd ...) or touch
# ymm/zmm/mask registers; baseline SSE2 code does neither. (`verr`/`verw` are not emitted.)
WIDE = re.compile(r"^\s*[0-9a-f]+:\s+(v[a-z0-9]+)\b|%[yz]mm\d+|%k[0-7]\b")


def offenders(path: str) -> dict[str, list[str]]:
    """Functions outside the allowed set that hold wide instructions, with an example each."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], check=True,
                         capture_output=True, text=True).stdout
    found: dict[str, list[str]] = {}
    function = "?"
    for line in out.splitlines():
        m = SYMBOL.match(line)
        if m:
            function = m.group("name")
            continue
        if WIDE.search(line) and not ALLOWED.search(function):
            found.setdefault(function, []).append(line.strip())
    return found


def main(paths: list[str]) -> int:
    status = 0
    for path in paths:
        bad = offenders(path)
        for function, lines in sorted(bad.items()):
            print(f"{path}: {function}: {len(lines)} AVX-class instruction(s), e.g. {lines[0]}")
            status = 1
        if not bad:
            print(f"{path}: no AVX/AVX2/AVX-512 instruction outside *_avx2*/*_avx512* functions")
    return status


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
