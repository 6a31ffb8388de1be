#!/usr/bin/env python3
"""Stand in for systemd's notify socket: what a Type=notify service tells its supervisor.

Usage: sd-notify-listen.py PATH

Binds a Unix datagram socket at PATH (start the service with NOTIFY_SOCKET=PATH),
prints {"bound": PATH} once listening, then one JSON line per datagram:
{"t": CLOCK_MONOTONIC seconds, "msg": "READY=1\\nSTATUS=..."}. Node's
process.hrtime() reads the same clock, so a caller can time start-to-READY.
Exits when its stdin closes (so it never outlives the test or bench that
started it) and removes PATH.

Node has no Unix datagram sockets, hence Python; the tests and
`npm run bench -- --only lifecycle` use it.
"""
import json
import os
import select
import socket
import sys
import time


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    path = sys.argv[1]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    try:
        print(json.dumps({"bound": path}), flush=True)
        while True:
            ready, _, _ = select.select([s, sys.stdin], [], [])
            if s in ready:
                data = s.recv(65536)
                print(json.dumps({"t": time.monotonic(), "msg": data.decode("utf-8", "replace")}), flush=True)
            if sys.stdin in ready and not sys.stdin.buffer.read1(4096):
                return 0
    finally:
        s.close()
        os.unlink(path)


if __name__ == "__main__":
    sys.exit(main())
