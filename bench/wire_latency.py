#!/usr/bin/env python3
"""Splits relay latency by leg, from a loopback capture of a UDP MESSAGE relay run.

SIPp reports one round-trip time per MESSAGE, on a clock that ticks in 4 ms steps here, and the
time includes its own scheduling. This reads a pcap (tcpdump -i lo -w FILE, Ethernet framing)
and, per Call-ID, takes the first time each of four packets crossed the wire:

  A  UAC -> proxy   MESSAGE      (destination port PROXY_PORT)
  B  proxy -> UAS   MESSAGE      (destination port UAS_PORT)
  C  UAS -> proxy   response     (source port UAS_PORT)
  D  proxy -> UAC   response     (source port PROXY_PORT)

and prints percentiles of B-A (proxy, request leg), C-B (UAS), D-C (proxy, response leg) and
D-A (what the UAC sees, minus its own delays). With --worst N it lists the N slowest relays.

Usage: tcpdump -i lo -s 700 -w /tmp/relay.pcap 'udp and (port 5060 or port 5090)' &
       ... run the load ...
       bench/wire_latency.py /tmp/relay.pcap [--proxy-port 5060] [--uas-port 5090]
"""
import argparse
import re
import struct
import sys

CALL_ID = re.compile(rb"\r\n(?:Call-ID|i)[ \t]*:[ \t]*([^\r\n]+)", re.I)


def packets(path):
    """Yields (time, source port, destination port, UDP payload) for IPv4/UDP frames."""
    with open(path, "rb") as f:
        header = f.read(24)
        if len(header) < 24:
            sys.exit(f"{path}: not a pcap file")
        magic = struct.unpack("<I", header[:4])[0]
        if magic == 0xA1B2C3D4:
            endian, scale = "<", 1e-6
        elif magic == 0xA1B23C4D:
            endian, scale = "<", 1e-9
        else:
            sys.exit(f"{path}: unsupported pcap format (magic {magic:#x})")
        linktype = struct.unpack(endian + "I", header[20:24])[0]
        if linktype != 1:
            sys.exit(f"{path}: link type {linktype}, expected Ethernet (1)")
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            sec, frac, incl, _ = struct.unpack(endian + "IIII", rec)
            frame = f.read(incl)
            if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
            if ip[9] != 17:  # UDP
                continue
            udp = ip[(ip[0] & 0x0F) * 4:]
            sport, dport = struct.unpack(">HH", udp[:4])
            yield sec + frac * scale, sport, dport, udp[8:]


def percentile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pcap")
    ap.add_argument("--proxy-port", type=int, default=5060)
    ap.add_argument("--uas-port", type=int, default=5090)
    ap.add_argument("--worst", type=int, default=0)
    args = ap.parse_args()

    seen = {}
    for t, sport, dport, payload in packets(args.pcap):
        m = CALL_ID.search(payload)
        if m is None:
            continue
        request = payload.startswith(b"MESSAGE ")
        if request and dport == args.proxy_port:
            leg = "A"
        elif request and dport == args.uas_port:
            leg = "B"
        elif not request and sport == args.uas_port:
            leg = "C"
        elif not request and sport == args.proxy_port:
            leg = "D"
        else:
            continue
        seen.setdefault(m.group(1), {}).setdefault(leg, t)

    relays = [e for e in seen.values() if len(e) == 4]
    if not relays:
        sys.exit("no complete relay (A, B, C, D) in the capture")
    t0 = min(e["A"] for e in relays)
    columns = {
        "proxy request leg (B-A)": [1e3 * (e["B"] - e["A"]) for e in relays],
        "UAS (C-B)": [1e3 * (e["C"] - e["B"]) for e in relays],
        "proxy response leg (D-C)": [1e3 * (e["D"] - e["C"]) for e in relays],
        "proxy total (B-A + D-C)": [1e3 * (e["B"] - e["A"] + e["D"] - e["C"]) for e in relays],
        "on the wire (D-A)": [1e3 * (e["D"] - e["A"]) for e in relays],
    }
    print(f"{len(relays)} complete relays of {len(seen)} Call-IDs")
    for name, values in columns.items():
        values.sort()
        print(f"{name:26s} p50 {percentile(values, 0.5):7.3f}  p99 {percentile(values, 0.99):7.3f}"
              f"  p99.9 {percentile(values, 0.999):7.3f}  max {values[-1]:7.3f} ms")
    if args.worst > 0:
        print(f"\nslowest {args.worst} (time from the first request, legs in ms):")
        for e in sorted(relays, key=lambda e: e["A"] - e["D"])[:args.worst]:
            print(f"  t={e['A'] - t0:8.3f}s  request {1e3 * (e['B'] - e['A']):6.2f}"
                  f"  uas {1e3 * (e['C'] - e['B']):6.2f}  response {1e3 * (e['D'] - e['C']):6.2f}")


if __name__ == "__main__":
    main()
