#!/usr/bin/env python3
"""A MAAS-equivalent correlator, the baseline of the bench's correlate case.

Written from the protocol (../shared/docs/protocol.md) and MAAS's
behaviour, the way MAAS's BeaconingSocketProtocol does it: ordered dicts
keyed by ULID for the transmit queue, the receive queue and the topology
hints, aged out (``abs(now - ulid_time) > 120``, walking from the oldest
insertion and stopping at the first fresh entry) whenever a beacon is sent
or received; received beacons as namedtuples; hints as namedtuples in one
set per ULID; multicast judged by parsing the destination address
(the standard library's ipaddress, where MAAS uses netaddr).

A solicitation that is not our own is answered as MAAS's
solicitationReceived answers it, inside beaconReceived: with --key HEX, the
reply is made as create_beacon_payload makes it (a new ULID, BSON, gzip at
level 9, Fernet, with the libraries MAAS uses) and filed in the transmit
queue as send_beacon files it (the datagram is not put on a wire). Without
--key the reply is only built as a dict and counted, which is what
netbeacon's replay does with the replies it would send: that measures the
correlation alone.

The clock is each journal line's ``time``, as MAAS's own code ran when the
vectors were made. The journal is read and parsed before the clock starts:
what is timed is the protocol code alone, per CPU-second
(``time.process_time``).

Usage: maas_correlate.py JOURNAL [--seconds S] [--lazy] [--key HEX]
Prints one JSON object: lines, receptions, passes, cpuSeconds, rate
(receptions per CPU-second), lineRate, replies, hints and hintsJson: the
hints sorted and printed as hints.json is, held at the end (strict ageing at
the last line's time, the set netbeacon replay prints; with --lazy, exactly
what MAAS's dict holds then, which is what the MAAS vectors record).
"""

import gzip
import ipaddress
import json
import sys
import time
from collections import OrderedDict, namedtuple

THRESHOLD = 120.0
CROCKFORD = {c: i for i, c in enumerate("0123456789ABCDEFGHJKMNPQRSTVWXYZ")}

ReceivedBeacon = namedtuple("ReceivedBeacon", ("ulid", "json", "ifname", "vid", "reply_address", "multicast"))
TopologyHint = namedtuple("TopologyHint", ("ifname", "vid", "hint", "related_ifname", "related_vid", "related_mac"))


def ulid_to_timestamp(ulid):
    """Seconds since the epoch of a ULID's 48-bit time part."""
    t = 0
    for c in ulid[:10].upper():
        t = t * 32 + CROCKFORD[c]
    return t / 1000.0


class ReplyEncoder:
    """create_beacon_payload: payload + ulid + type, BSON, gzip -9, raw Fernet token, !BBH header."""

    def __init__(self, key_hex):
        import base64
        import os
        import struct

        import bson
        from cryptography.fernet import Fernet

        self._fernet = Fernet(base64.urlsafe_b64encode(bytes.fromhex(key_hex)))
        self._bson = bson
        self._b64 = base64
        self._struct = struct
        self._urandom = os.urandom

    def new_ulid(self, now):
        t = int(now * 1000)
        chars = []
        for _ in range(10):
            chars.append("0123456789ABCDEFGHJKMNPQRSTVWXYZ"[t % 32])
            t //= 32
        r = int.from_bytes(self._urandom(10), "big")
        rand = []
        for _ in range(16):
            rand.append("0123456789ABCDEFGHJKMNPQRSTVWXYZ"[r % 32])
            r //= 32
        return "".join(reversed(chars)) + "".join(rand)

    def advertisement(self, payload, now):
        payload = payload.copy()
        payload["ulid"] = self.new_ulid(now)
        payload["type"] = 2
        data = self._bson.BSON.encode(payload)
        token = self._b64.urlsafe_b64decode(self._fernet.encrypt(gzip.compress(data, compresslevel=9)))
        return payload, self._struct.pack("!BBH%ds" % len(token), 2, 2, len(token), token)


class Protocol:
    def __init__(self, encoder=None):
        self.encoder = encoder
        self.now = 0.0
        self.tx_queue = OrderedDict()
        self.rx_queue = OrderedDict()
        self.topology_hints = OrderedDict()
        self.replies = 0
        self.reply = None
        self.mcast_requested = False

    def age_out(self, queue):
        removals = []
        for key in queue:
            if abs(self.now - ulid_to_timestamp(key)) > THRESHOLD:
                removals.append(key)
            else:
                break
        for key in removals:
            queue.pop(key, None)

    def beacon_sent(self, line):
        self.tx_queue[line["payload"]["ulid"]] = line
        self.age_out(self.tx_queue)

    def make_received_beacon(self, beacon_json):
        reply_ip = beacon_json["source_ip"]
        if ":" not in reply_ip:
            reply_ip = "::ffff:" + reply_ip
        destination_ip = beacon_json.get("destination_ip")
        multicast = False
        if destination_ip is not None:
            multicast = ipaddress.ip_address(destination_ip).is_multicast
        payload = beacon_json.get("payload") or {}
        return ReceivedBeacon(
            payload.get("ulid"),
            beacon_json,
            beacon_json.get("interface"),
            beacon_json.get("vid"),
            (reply_ip, beacon_json["source_port"]),
            multicast,
        )

    def beacon_received(self, beacon_json):
        if beacon_json.get("version", 0) < 2:
            return
        beacon = self.make_received_beacon(beacon_json)
        if beacon.ulid is None:
            return
        own = beacon.ulid in self.tx_queue
        beacon_json["own_beacon"] = own
        beacon_json["is_dup"] = self.remember_beacon_and_check_duplicate(beacon)
        self.process_topology_hints(beacon)
        if own:
            return
        if beacon_json["type"] == "solicitation":
            self.solicitation_received(beacon)

    def remember_beacon_and_check_duplicate(self, beacon):
        self.age_out(self.rx_queue)
        packets = self.rx_queue.get(beacon.ulid, [])
        duplicate = len(packets) > 0
        packets.append(beacon)
        self.rx_queue[beacon.ulid] = packets
        return duplicate

    def solicitation_received(self, beacon):
        remote = {"name": beacon.ifname, "subnet": None}
        if beacon.vid is not None:
            remote["vid"] = beacon.vid
        self.reply = {"remote": remote, "acks": beacon.ulid}
        self.replies += 1
        if self.encoder is not None:
            payload, datagram = self.encoder.advertisement(self.reply, self.now)
            # send_beacon: the transmit queue remembers it, and is aged.
            self.tx_queue[payload["ulid"]] = datagram
            self.age_out(self.tx_queue)
        self.mcast_requested = True

    def process_topology_hints(self, rx):
        self.age_out(self.topology_hints)
        hints = self.topology_hints.get(rx.ulid, set())
        own = rx.json.get("own_beacon", False)
        if rx.multicast and own:
            sent = self.tx_queue.get(rx.ulid)
            if isinstance(sent, dict):
                sent_ifname = sent["payload"].get("remote", {}).get("name")
                kind = "rx_own_beacon_on_tx_interface" if sent_ifname == rx.ifname else "rx_own_beacon_on_other_interface"
                hints.add(TopologyHint(sent_ifname, None, kind, rx.ifname, rx.vid, None))
        if rx.multicast and rx.json.get("is_dup", False):
            seen = set()
            for beacon in self.rx_queue.get(rx.ulid, []):
                seen.add((beacon.ifname, beacon.vid))
                if len(seen) > 1:
                    for ifname1, vid1 in seen:
                        for ifname2, vid2 in seen:
                            if ifname1 == ifname2 and vid1 == vid2:
                                continue
                            hints.add(TopologyHint(ifname1, vid1, "same_local_fabric_as", ifname2, vid2, None))
        remote = (rx.json.get("payload") or {}).get("remote")
        if remote is not None and not own:
            name = remote.get("name")
            mac = remote.get("mac_address")
            if name is not None and mac is not None:
                kind = "on_remote_network" if rx.multicast else "routable_to"
                hints.add(TopologyHint(rx.ifname, rx.vid, kind, name, remote.get("vid"), mac))
        if hints:
            self.topology_hints[rx.ulid] = hints

    def all_hints(self, strict_at=None):
        out = set()
        for ulid, hints in self.topology_hints.items():
            if strict_at is None or abs(strict_at - ulid_to_timestamp(ulid)) <= THRESHOLD:
                out |= hints
        return out


def format_hints(hints):
    lines = sorted(json.dumps({k: v for k, v in h._asdict().items() if v is not None}, sort_keys=True) for h in hints)
    return "[\n" + ",\n".join(lines) + "\n]\n" if lines else "[]\n"


def read_journal(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]


def one_pass(lines, encoder):
    p = Protocol(encoder)
    for line in lines:
        p.now = line["time"]
        if line["direction"] == "tx":
            p.beacon_sent(line)
        else:
            # MAAS gets a fresh dict per beacon (it adds own_beacon and is_dup to it).
            p.beacon_received(dict(line))
    return p


def main(argv):
    path = argv[1]
    seconds = float(argv[argv.index("--seconds") + 1]) if "--seconds" in argv else 0.0
    lazy = "--lazy" in argv
    encoder = ReplyEncoder(argv[argv.index("--key") + 1]) if "--key" in argv else None
    lines = read_journal(path)
    receptions = sum(1 for line in lines if line["direction"] == "rx")
    passes = 0
    c0 = time.process_time()
    w0 = time.monotonic()
    while True:
        p = one_pass(lines, encoder)
        passes += 1
        if time.monotonic() - w0 >= seconds:
            break
    cpu = time.process_time() - c0
    hints = p.all_hints() if lazy else p.all_hints(strict_at=lines[-1]["time"] if lines else None)
    print(
        json.dumps(
            {
                "lines": len(lines) * passes,
                "receptions": receptions * passes,
                "passes": passes,
                "cpuSeconds": cpu,
                "rate": receptions * passes / cpu if cpu > 0 else None,
                "lineRate": len(lines) * passes / cpu if cpu > 0 else None,
                "replies": p.replies,
                "repliesEncrypted": encoder is not None,
                "hints": len(hints),
                "hintsJson": format_hints(hints),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv)
