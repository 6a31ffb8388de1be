#!/usr/bin/python3
"""The maas-python decode baseline: MAAS's read_beacon_payload steps over
one input set of the bench's inputs file, judged at the file's clock
(Fernet.decrypt_at_time), for a fixed time after a warm-up.

usage: maas_decode.py --inputs FILE --input valid|forged|stale|garbage
                      --seconds S --warmup S
prints {"items", "seconds", "rate", "verdicts": {"ok": n, "<reason>": n}}
"""

import argparse
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from maas_beacon import (  # noqa: E402
    InvalidBeaconingPacket,
    make_fernet,
    read_beacon_payload,
    reason_name,
)

CHUNK = 256  # datagrams between clock reads, as the node workers' batches


def measure(datagrams, fernet, now, seconds):
    verdicts = {}
    items = 0
    n = len(datagrams)
    # The rate is per CPU-second of this process (the node workers count the
    # same way); the wall clock only bounds how long it runs.
    t0 = time.perf_counter()
    c0 = time.process_time()
    while True:
        for i in range(CHUNK):
            try:
                read_beacon_payload(datagrams[i % n], fernet, now)
                k = "ok"
            except InvalidBeaconingPacket as e:
                k = reason_name(e.invalid_reason)
            verdicts[k] = verdicts.get(k, 0) + 1
        items += CHUNK
        if time.perf_counter() - t0 >= seconds:
            return items, time.process_time() - c0, verdicts


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--inputs", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--warmup", type=float, default=0.2)
    a = p.parse_args()
    with open(a.inputs) as f:
        spec = json.load(f)
    fernet = make_fernet(bytes.fromhex(spec["keyHex"]))
    datagrams = [bytes.fromhex(h) for h in spec["sets"][a.input]]
    clock = spec["clock"]
    measure(datagrams, fernet, clock, a.warmup)
    items, cpu, verdicts = measure(datagrams, fernet, clock, a.seconds)
    print(json.dumps({"engine": "maas-python", "input": a.input, "items": items,
                      "cpuSeconds": cpu, "rate": items / cpu, "verdicts": verdicts}))


if __name__ == "__main__":
    main()
