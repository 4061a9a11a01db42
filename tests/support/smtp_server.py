#!/usr/bin/env python3
"""A real SMTP server for the integration tests (driven by tests/support/smtp.rs).

    python3 tests/support/smtp_server.py --port PORT --dir DIR [--watch-stdin]

Listens on 127.0.0.1:PORT, plain SMTP without TLS or AUTH, with EHLO, 8BITMIME and SMTPUTF8.
What happens to a recipient depends on the local part of its address:

  reject*  -> 550 5.1.1 at RCPT (permanent failure)
  busy*    -> 451 4.3.0 at RCPT while the file DIR/busy exists, accepted otherwise
  anything else is accepted.

Every accepted message is stored as DIR/NNNNNN.eml (the exact bytes received after DATA,
dot-unstuffed) and DIR/NNNNNN.json ({"mail_from": ..., "rcpt_tos": [...]}). The JSON file is
written first and both are written under a temporary name and renamed, so a reader that lists
`*.eml` never sees a partial message or a message without its envelope. Numbering continues
after the highest number already in DIR, so a restarted server appends to the same sequence.

Prints READY on stdout once the socket accepts connections. Exits cleanly on SIGTERM/SIGINT
and, with --watch-stdin, when stdin reaches EOF (the test process that spawned it is gone).
Needs aiosmtpd (Debian: python3-aiosmtpd; `bash scripts/test.sh` installs it).
"""

import argparse
import asyncio
import json
import os
import re
import signal
import sys

try:
    from aiosmtpd.smtp import SMTP
except ImportError:
    sys.stderr.write(
        "smtp_server.py: the Python module aiosmtpd is missing; install python3-aiosmtpd "
        "(bash scripts/test.sh does it)\n"
    )
    sys.exit(3)

EML_RE = re.compile(r"^(\d+)\.eml$")


def write_atomically(path, data):
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, ".tmp-" + name)
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
    os.replace(tmp, path)


def local_part(address):
    address = address.strip()
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1]
    return address.rsplit("@", 1)[0].lower()


class Handler:
    def __init__(self, directory):
        self.directory = directory
        highest = 0
        for name in os.listdir(directory):
            m = EML_RE.match(name)
            if m:
                highest = max(highest, int(m.group(1)))
        self.next_seq = highest + 1

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = local_part(address)
        if local.startswith("reject"):
            return "550 5.1.1 <{}>: no such user".format(address)
        if local.startswith("busy") and os.path.exists(os.path.join(self.directory, "busy")):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content
        if raw is None:
            raw = envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        seq = self.next_seq
        self.next_seq += 1
        base = os.path.join(self.directory, "{:06d}".format(seq))
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos)}
        write_atomically(base + ".json", json.dumps(meta, ensure_ascii=False).encode("utf-8"))
        write_atomically(base + ".eml", raw)
        return "250 2.0.0 OK queued as {:06d}".format(seq)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--watch-stdin", action="store_true")
    args = parser.parse_args()

    os.makedirs(args.dir, exist_ok=True)
    handler = Handler(args.dir)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory():
        return SMTP(
            handler,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname="renkei-test-smtp",
            ident="renkei test SMTP server",
            loop=loop,
        )

    try:
        server = loop.run_until_complete(loop.create_server(factory, host=args.host, port=args.port))
    except OSError as e:
        sys.stderr.write("smtp_server.py: cannot listen on {}:{}: {}\n".format(args.host, args.port, e))
        sys.exit(2)

    stop = loop.create_future()

    def request_stop(*_):
        if not stop.done():
            stop.set_result(None)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop)
    if args.watch_stdin:

        def on_stdin():
            try:
                data = os.read(sys.stdin.fileno(), 4096)
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(sys.stdin.fileno())
                request_stop()

        loop.add_reader(sys.stdin.fileno(), on_stdin)

    sys.stdout.write("READY\n")
    sys.stdout.flush()
    loop.run_until_complete(stop)
    # No wait_closed(): since Python 3.12 it waits for open client connections (a pooled
    # client keeps one), and the process is about to exit anyway.
    server.close()


if __name__ == "__main__":
    main()
