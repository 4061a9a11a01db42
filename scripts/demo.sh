#!/usr/bin/env bash
# Runs renkei on the embedded default (SQLite file ./renkei.db) with the demo municipality.
# Installs the build tools HiGHS needs if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/renkei/target}"
need=()
command -v cmake >/dev/null || need+=(cmake)
# bindgen (HiGHS bindings) needs libclang itself; libclang-cpp, which some images carry, is not it.
ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/llvm-*/lib/libclang-[0-9]*.so* >/dev/null 2>&1 || need+=(libclang-dev clang)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
exec cargo run --release --quiet -- serve --demo "$@"
