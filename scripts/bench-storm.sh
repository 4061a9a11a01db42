#!/usr/bin/env bash
# The booking storm of issue 14 (benches/storm.rs) on both engines: starts a throwaway
# PostgreSQL cluster exactly as scripts/test.sh does, runs `cargo bench --bench storm` against
# SQLite and that cluster (two service instances over one database each time), prints the
# tables and the invariant checks, and removes the cluster. Exits non-zero if an invariant is
# broken. Not part of the test suite.
#
#   bash scripts/bench-storm.sh                          # defaults: 150 clients, 25 s per engine
#   RENKEI_BENCH_CLIENTS=200 RENKEI_BENCH_SECONDS=40 bash scripts/bench-storm.sh
#   RENKEI_BENCH_ENGINES=postgres bash scripts/bench-storm.sh
#   bash scripts/bench-storm.sh --profile dev             # further arguments go to cargo bench
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/renkei/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RENKEI_BENCH_ENGINES="${RENKEI_BENCH_ENGINES:-sqlite,postgres}"

need_packages=()
command -v cmake >/dev/null || need_packages+=(cmake)
# bindgen (HiGHS bindings) needs libclang itself; libclang-cpp, which some images carry, is not it.
ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/llvm-*/lib/libclang-[0-9]*.so* >/dev/null 2>&1 || need_packages+=(libclang-dev clang)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_packages+=(postgresql)
if [ ${#need_packages[@]} -gt 0 ]; then
  echo "installing: ${need_packages[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi

# Throwaway PostgreSQL cluster on a Unix socket and a free port, owned by an unprivileged user
# (initdb refuses to run as root). The same settings as the test suite's cluster.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PG_DIR=$(mktemp -d /tmp/renkei-pg.XXXXXX)
PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUN_AS=()
if [ "$(id -u)" -eq 0 ]; then
  id renkei-test >/dev/null 2>&1 || useradd --system --no-create-home renkei-test
  chown renkei-test "$PG_DIR"
  RUN_AS=(runuser -u renkei-test --)
fi
cleanup() {
  "${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap cleanup EXIT
"${RUN_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
  -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
export RENKEI_BENCH_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
echo "PostgreSQL bench cluster on port $PG_PORT"

cargo bench --bench storm "$@"
