#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs (cmake and libclang for HiGHS,
# PostgreSQL, Chromium and ChromeDriver, aiosmtpd for the test SMTP server), starts a throwaway
# PostgreSQL cluster, runs every test against SQLite and PostgreSQL, and removes the cluster again.
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh jobs::     # only tests whose name matches (passed to cargo test)
set -euo pipefail
cd "$(dirname "$0")/.."

# A persistent target directory keeps incremental builds fast across fresh clones (CI clones anew).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/renkei/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

need_packages=()
command -v cmake >/dev/null || need_packages+=(cmake)
# bindgen (HiGHS bindings) needs libclang itself; libclang-cpp, which some images carry, is not it.
ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/llvm-*/lib/libclang-[0-9]*.so* >/dev/null 2>&1 || need_packages+=(libclang-dev clang)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_packages+=(postgresql)
command -v chromium >/dev/null || need_packages+=(chromium)
command -v chromedriver >/dev/null || need_packages+=(chromium-driver)
# The tests' SMTP server (tests/support/smtp_server.py). A pyenv or venv python3 on PATH does not
# see Debian's module, so /usr/bin/python3 counts too (the harness tries both).
{ python3 -c 'import aiosmtpd' || /usr/bin/python3 -c 'import aiosmtpd'; } 2>/dev/null || need_packages+=(python3-aiosmtpd)
# A Japanese font, so that browser screenshots of the pages are readable.
fc-list :lang=ja 2>/dev/null | grep -q . || need_packages+=(fonts-ipafont-gothic)
if [ ${#need_packages[@]} -gt 0 ]; then
  echo "installing: ${need_packages[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi

# Throwaway PostgreSQL cluster on a Unix socket and a free port, owned by an unprivileged user
# (initdb refuses to run as root).
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
export RENKEI_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
echo "PostgreSQL test cluster on port $PG_PORT"

cargo build --workspace --tests --quiet
# No doc tests (there are none, and their empty "0 passed" would close the output).
log="$PG_DIR/cargo-test.log"
set +e
cargo test --workspace --lib --bins --tests -- --test-threads="${RENKEI_TEST_THREADS:-4}" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line over all test binaries.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "renkei: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
