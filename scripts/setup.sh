#!/usr/bin/env bash
# Installs the Debian packages lococ builds against (Debian 12). Run as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  cmake ninja-build g++ ccache lld python3 python3-venv \
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools \
  libyaml-cpp-dev libgtest-dev nlohmann-json3-dev libfftw3-dev libopenblas-dev libdnnl-dev libxsmm-dev libsleef-dev \
  libsndfile1-dev libsamplerate0-dev liblapacke-dev zlib1g-dev libboost-context-dev \
  libfluidsynth-dev fluid-soundfont-gm \
  libprotobuf-dev protobuf-compiler openmpi-bin libopenmpi-dev \
  clang-19 libclang-rt-19-dev libomp-19-dev clang-format-19 \
  python3-torch python3-yaml python3-numpy python3-dev pybind11-dev python3-pytest \
  > /dev/null
