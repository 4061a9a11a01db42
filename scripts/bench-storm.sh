#!/usr/bin/env bash
# The booking storm of issue 14 (benches/storm.rs) on both engines: starts a throwaway
# PostgreSQL cluster as scripts/test.sh does (scripts/pg-cluster.sh), runs `cargo bench --bench storm` against
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

# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
export RENKEI_BENCH_POSTGRES_URL="$PG_URL"

cargo bench --bench storm "$@"
