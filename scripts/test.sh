#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs (cmake and libclang for HiGHS,
# PostgreSQL, Chromium and ChromeDriver, aiosmtpd for the test SMTP server, Dovecot for the test
# IMAP server), starts a throwaway PostgreSQL cluster, runs every test against SQLite and
# PostgreSQL, and removes the cluster again.
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh jobs::     # only tests whose name matches (passed to cargo test)
set -euo pipefail
cd "$(dirname "$0")/.."

# A persistent target directory keeps incremental builds fast across fresh clones (CI clones anew).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/renkei/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Besides what the build and the cluster need (scripts/pg-cluster.sh):
need_packages=()
command -v chromium >/dev/null || need_packages+=(chromium)
command -v chromedriver >/dev/null || need_packages+=(chromium-driver)
# The tests' SMTP server (tests/support/smtp_server.py). A pyenv or venv python3 on PATH does not
# see Debian's module, so /usr/bin/python3 counts too (the harness tries both).
{ python3 -c 'import aiosmtpd' || /usr/bin/python3 -c 'import aiosmtpd'; } 2>/dev/null || need_packages+=(python3-aiosmtpd)
# The tests' IMAP server for calendar replies (tests/support/dovecot.rs).
command -v dovecot >/dev/null || [ -x /usr/sbin/dovecot ] || need_packages+=(dovecot-imapd)
# A Japanese font, so that browser screenshots of the pages are readable.
fc-list :lang=ja 2>/dev/null | grep -q . || need_packages+=(fonts-ipafont-gothic)
# schemathesis (tests/api_contract.rs), pinned, in a virtual environment kept with the build cache.
# Debian's python3 needs python3-venv for that; a pyenv python3 on PATH has venv built in.
st_version=4.32.5
st_venv="$HOME/.cache/renkei/schemathesis-$st_version"
if ! "$st_venv/bin/schemathesis" --version >/dev/null 2>&1; then
  { python3 -c 'import ensurepip' || /usr/bin/python3 -c 'import ensurepip'; } 2>/dev/null || need_packages+=(python3-venv)
fi
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
if ! "$st_venv/bin/schemathesis" --version >/dev/null 2>&1; then
  rm -rf "$st_venv"
  python3 -m venv "$st_venv" 2>/dev/null || /usr/bin/python3 -m venv "$st_venv"
  "$st_venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$st_version"
fi
export RENKEI_SCHEMATHESIS="$st_venv/bin/schemathesis"
export RENKEI_TEST_POSTGRES_URL="$PG_URL"

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
