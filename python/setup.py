"""Builds torchcdat: the pybind11 extension torchcdat._C compiles the cdat core (../src/core, ../include) with
the binding, against the torch that runs this script (Debian's python3-torch, no download).

Install from the repository checkout (the core's sources sit next to this folder; an sdist is not supported):
    /usr/bin/python3 -m venv --system-site-packages .venv && .venv/bin/pip install --no-build-isolation --no-deps ./python
    /usr/bin/python3 -m pip install --target DIR --no-build-isolation --no-deps ./python
CDAT_CORE_LIBRARY=PATH links a prebuilt core instead (the PIC static library of the CMake build,
build/src/core/libcdat.a, made from the same checkout; only the binding is compiled then).
MAX_JOBS=N sets the parallel compile jobs (ninja); CXX=/usr/lib/ccache/g++ caches the objects; CDAT_WERROR=1 makes
warnings errors (CI).
"""
import glob
import os

from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CppExtension, include_paths

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORE = os.path.join(ROOT, "src", "core")
if not os.path.isfile(os.path.join(CORE, "optimizer.cpp")):
    raise SystemExit(f"torchcdat builds from the cdat repository checkout: the core's sources are not at {CORE} "
                     "(install with `pip install --no-build-isolation --no-deps ./python` from the repository root)")

# Relative paths keep the object files inside this folder's build/ (setuptools wants them relative to setup.py).
sources = ["src/bindings.cpp"]
extra_objects = []
prebuilt = os.environ.get("CDAT_CORE_LIBRARY")
if prebuilt:
    if not os.path.isfile(prebuilt):
        raise SystemExit(f"CDAT_CORE_LIBRARY: {prebuilt} is not a file")
    extra_objects = [os.path.abspath(prebuilt)]
else:
    # Every source of the core, its subfolders included (src/core/curvature/: one file per curvature estimator).
    sources += sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(CORE, "**", "*.cpp"), recursive=True))

setup(
    name="torchcdat",
    version="0.1.0",
    description="CDAT (curvature-aware learning-rate tuning) for PyTorch, over the cdat C++ core",
    packages=["torchcdat"],
    python_requires=">=3.8",
    ext_modules=[
        CppExtension(
            "torchcdat._C",
            sources,
            include_dirs=[os.path.join(ROOT, "include"), CORE],
            extra_objects=extra_objects,
            # The CMake build's warnings (cdat_warnings); torch's headers as system headers (-isystem wins over the -I
            # BuildExtension adds), so that the warnings are ours only.
            extra_compile_args=["-std=c++17", "-O2", "-g0", "-Wall", "-Wextra", "-Wno-unused-parameter"] +
            (["-Werror"] if os.environ.get("CDAT_WERROR") == "1" else []) +
            [flag for path in include_paths() for flag in ("-isystem", path)],
        )
    ],
    cmdclass={"build_ext": BuildExtension},
    zip_safe=False,
)
