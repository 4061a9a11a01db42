# Sourced by scripts/test.sh and scripts/bench-storm.sh (not run on its own): installs what the
# build and the PostgreSQL cluster need (cmake and libclang for HiGHS, PostgreSQL; plus the
# caller's own `need_packages`), then starts a throwaway PostgreSQL cluster on a Unix socket and
# a free port, owned by an unprivileged user (initdb refuses to run as root), removed on exit.
# Sets PG_DIR and PG_URL.

need_packages=(${need_packages[@]+"${need_packages[@]}"})
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
PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
echo "PostgreSQL cluster on port $PG_PORT"
