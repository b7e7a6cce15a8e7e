"""Build the C kernels (csrc/) and their Cython binding as dlcore.kernels._c.

Portable code only: -O3, never a host-specific -march nor fast-math. The SIMD micro-kernels
get their instruction sets from per-function target attributes and are picked at run time, so
one wheel runs on any x86-64. OpenMP is probed; without it the kernels run serially.
"""
import os
import subprocess
import sys
import sysconfig
import tempfile
from glob import glob

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext


def compiler_accepts(flags):
    """True when the C compiler builds and links a small OpenMP program with `flags`."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    src = "#include <omp.h>\nint main(void){return omp_get_max_threads() < 1;}\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "probe.c")
        with open(path, "w") as f:
            f.write(src)
        cmd = cc.split() + [path, "-o", os.path.join(tmp, "probe")] + flags
        return subprocess.run(cmd, capture_output=True).returncode == 0


class BuildExt(build_ext):
    def build_extensions(self):
        openmp = os.environ.get("DL_NO_OPENMP") != "1" and compiler_accepts(["-fopenmp"])
        if not openmp:
            print("*" * 72 + "\nWARNING: OpenMP not available: dlcore's kernels will run on "
                  "ONE thread.\n" + "*" * 72, file=sys.stderr)
        for ext in self.extensions:
            ext.define_macros.append(("DL_OPENMP", "1" if openmp else "0"))
            if openmp:
                ext.extra_compile_args.append("-fopenmp")
                ext.extra_link_args.append("-fopenmp")
        super().build_extensions()


sanitize = os.environ.get("DL_SANITIZE")  # e.g. "address": a debug build for kernel tests
# -fno-trapping-math (clang's default) lets conditional selects vectorise on every path; it
# gives up only floating-point exception flags, which nothing reads: results are unchanged.
compile_args = ["-O3", "-std=gnu11", "-Wall", "-Wno-unused-function", "-fno-strict-aliasing",
                "-fno-trapping-math"]
link_args = []
if sanitize:
    compile_args = ["-O1", "-g", "-fno-omit-frame-pointer", f"-fsanitize={sanitize}",
                    "-std=gnu11", "-Wall"]
    link_args = [f"-fsanitize={sanitize}"]

extension = Extension(
    "dlcore.kernels._c",
    sources=["dlcore/kernels/_c.pyx"] + sorted(glob("csrc/*.c")),
    include_dirs=["csrc", numpy.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION")],
    extra_compile_args=compile_args,
    extra_link_args=link_args,
)

setup(
    # cli/ installs as dlcore.cli and examples/ as dlcore.examples: no top-level `cli` or
    # `examples` lands in site-packages.
    packages=find_packages(include=["dlcore", "dlcore.*"]) + ["dlcore.cli", "dlcore.examples"],
    package_dir={"dlcore.cli": "cli", "dlcore.examples": "examples"},
    package_data={"dlcore.examples": ["*/*.toml"]},
    ext_modules=cythonize([extension], language_level=3,
                          compiler_directives={"boundscheck": False, "wraparound": False}),
    cmdclass={"build_ext": BuildExt},
)
