#!/usr/bin/env python3
"""DNS load for the FS5 integration test (stdlib only), run inside a sandbox.

  dnsload.py flood <name> <size> <seconds>   send queries for <name> of <size>
      bytes (an OPT padded with RFC 7830 padding) to 127.0.0.11:53 as fast as
      possible, never reading replies; prints {"sent": n}
  dnsload.py probe <name> <seconds>          ask A <name> one query at a time,
      prints {"n": n, "lost": l, "p50": ms, "p99": ms, "max": ms}
"""
import json
import os
import socket
import struct
import sys
import time


def question(name):
    out = b''
    for label in name.split('.'):
        out += bytes([len(label)]) + label.encode()
    return out + b'\x00' + struct.pack('!HH', 1, 1)


def query(qid, name, size=0):
    head = struct.pack('!HHHHHH', qid, 0x0100, 1, 0, 0, 1 if size else 0)
    q = head + question(name)
    if not size:
        return q
    pad = max(0, size - len(q) - 11 - 4)
    opt = b'\x00' + struct.pack('!HHIH', 41, 1232, 0, 4 + pad) + struct.pack('!HH', 12, pad) + b'\x00' * pad
    return q + opt


def flood(name, size, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    end = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < end:
        pkt = query(sent & 0xffff, name, size)
        for _ in range(64):
            try:
                s.sendto(pkt, ('127.0.0.11', 53))
                sent += 1
            except BlockingIOError:
                time.sleep(0.0005)
            except OSError:
                pass
    print(json.dumps({'sent': sent}))


def probe(name, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.connect(('127.0.0.11', 53))
    lat = []
    lost = 0
    end = time.monotonic() + seconds
    qid = 0
    while time.monotonic() < end:
        qid = (qid + 1) & 0xffff
        t0 = time.monotonic()
        s.send(query(qid, name))
        try:
            while True:
                r = s.recv(4096)
                if struct.unpack('!H', r[:2])[0] == qid:
                    break
            lat.append((time.monotonic() - t0) * 1000)
        except socket.timeout:
            lost += 1
        time.sleep(0.002)
    lat.sort()
    pick = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] if lat else -1
    print(json.dumps({'n': len(lat), 'lost': lost, 'p50': pick(0.5), 'p99': pick(0.99), 'max': lat[-1] if lat else -1}))


if __name__ == '__main__':
    mode = sys.argv[1]
    if mode == 'flood':
        flood(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        probe(sys.argv[2], float(sys.argv[3]))
