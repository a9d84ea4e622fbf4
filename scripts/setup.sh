#!/usr/bin/env bash
# Installs every Debian package cdat needs (idempotent: apt runs only when something is missing), then
# configures the Release build under build/ and builds what README command 1 runs: the `cdat` tool (the
# tests, benchmarks and examples are built by `cmake --build build`, README command 2).
# Usage: scripts/setup.sh [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake git
  ccache                     # compiler cache: a rebuild (another build folder, `rm -rf build`) reuses objects
  libtorch-dev               # LibTorch 1.13 (CPU)
  libopenblas0-pthread       # fast BLAS for LibTorch: without it, ~30x slower
  dataset-fashion-mnist      # the default dataset (/usr/share/datasets/fashion-mnist)
  libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libfmt-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-matplotlib # `cdat plot`
  python3-torch              # bench/peer: the same loop in PyTorch-Python
  clang-14 libclang-rt-14-dev  # CI: libFuzzer targets of the readers (tests/fuzz, docs/reliability.md)
  libgloo-dev                # c10d's ProcessGroupGloo headers (data-parallel runs, docs/distributed.md)
  pybind11-dev python3-pytest python3-pip python3-venv python3-setuptools  # torchcdat (python/)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j "$jobs" --target cdat
echo "setup: built build/apps/cdat/cdat (the rest: cmake --build build -j $jobs)"
