#!/usr/bin/python3
"""The maas-python live receiver: MAAS's observe-beacons path, fed by
`tcpdump -w -` on stdin as MAAS feeds it. For every packet: the pcap record
header, Ethernet (one 802.1Q tag), IPv4/IPv6, UDP to port 5240, then
read_beacon_payload at the current time (as MAAS judges live beacons) and
the JSON object observe-beacons prints, built and serialised (not written:
the bench measures the decoder, not a terminal).

Prints {"event":"stats","packets","beacons","rejected","notBeacon"} every
--interval ms and once more at end of input.

usage: tcpdump ... -w - FILTER | maas_observe.py --key HEX [--interval MS]
"""

import argparse
import json
import os
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from maas_beacon import InvalidBeaconingPacket, make_fernet, read_beacon_payload  # noqa: E402

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_VLAN = 0x8100
BEACON_PORT = 5240


def format_mac(b):
    return ":".join("%02x" % x for x in b)


def decode_frame(frame):
    """(source mac, destination mac, vid, source ip, destination ip, sport, dport, payload) or None."""
    if len(frame) < 14:
        return None
    dst, src = frame[0:6], frame[6:12]
    ethertype = struct.unpack("!H", frame[12:14])[0]
    offset = 14
    vid = None
    if ethertype == ETHERTYPE_VLAN:
        if len(frame) < 18:
            return None
        tci, ethertype = struct.unpack("!HH", frame[14:18])
        vid = tci & 0x0FFF
        offset = 18
    if ethertype == ETHERTYPE_IPV4:
        if len(frame) < offset + 20:
            return None
        ihl = (frame[offset] & 0x0F) * 4
        total = struct.unpack("!H", frame[offset + 2:offset + 4])[0]
        if frame[offset + 9] != 17:
            return None
        sip = ".".join(str(x) for x in frame[offset + 12:offset + 16])
        dip = ".".join(str(x) for x in frame[offset + 16:offset + 20])
        ip_end = offset + total
        offset += ihl
    elif ethertype == ETHERTYPE_IPV6:
        if len(frame) < offset + 40 or frame[offset + 6] != 17:
            return None
        import ipaddress

        plen = struct.unpack("!H", frame[offset + 4:offset + 6])[0]
        sip = str(ipaddress.IPv6Address(bytes(frame[offset + 8:offset + 24])))
        dip = str(ipaddress.IPv6Address(bytes(frame[offset + 24:offset + 40])))
        offset += 40
        ip_end = offset + plen
    else:
        return None
    if len(frame) < offset + 8:
        return None
    sport, dport, ulen = struct.unpack("!HHH", frame[offset:offset + 6])
    if dport != BEACON_PORT:
        return None
    payload = frame[offset + 8:min(offset + ulen, ip_end, len(frame))]
    return format_mac(src), format_mac(dst), vid, sip, dip, sport, dport, payload


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--key", required=True)
    p.add_argument("--interval", type=float, default=100)
    a = p.parse_args()
    fernet = make_fernet(bytes.fromhex(a.key))
    stream = sys.stdin.buffer
    counts = {"packets": 0, "beacons": 0, "rejected": 0, "notBeacon": 0}
    done = threading.Event()

    def report():
        # No lock on the per-packet path (MAAS has none): the GIL keeps each
        # increment whole, and a report a packet behind is fine.
        line = json.dumps(dict(event="stats", **counts))
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def reporter():
        while not done.wait(a.interval / 1000.0):
            report()

    threading.Thread(target=reporter, daemon=True).start()

    header = stream.read(24)
    if len(header) < 24:
        done.set()
        report()
        return
    magic = header[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    record = struct.Struct(endian + "IIII")
    while True:
        h = stream.read(16)
        if len(h) < 16:
            break
        ts_sec, ts_frac, incl_len, _orig_len = record.unpack(h)
        frame = stream.read(incl_len)
        if len(frame) < incl_len:
            break
        decoded = decode_frame(frame)
        if decoded is None:
            counts["packets"] += 1
            counts["notBeacon"] += 1
            continue
        smac, dmac, vid, sip, dip, sport, dport, payload = decoded
        try:
            version, beacon_type, inner = read_beacon_payload(payload, fernet)
            output = {
                "source_mac": smac, "destination_mac": dmac,
                "source_ip": sip, "destination_ip": dip,
                "source_port": sport, "destination_port": dport,
                "time": ts_sec, "version": version, "type": beacon_type,
                "payload": inner,
            }
            if vid is not None:
                output["vid"] = vid
            json.dumps(output, default=str)
            ok = True
        except InvalidBeaconingPacket:
            ok = False
        counts["packets"] += 1
        counts["beacons" if ok else "rejected"] += 1
    done.set()
    report()


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
