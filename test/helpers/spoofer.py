#!/usr/bin/env python3
"""Off-path DNS spoofer for the FS1 integration test (stdlib only).

Runs inside a sandbox's namespace as root (CAP_NET_RAW, as in a default
Docker container). Reads one command per line on stdin:

  <src_ip> <src_port> <dst_ip> <dst_port> <count> <dns_hex>

and sends <count> copies of an IPv4/UDP datagram from src to dst carrying
the DNS message <dns_hex>, through a raw socket (IP_HDRINCL: any source
address). A <dst_port> of 0 means "every port of 32768-60999 once".
Answers "sent <n>" per command.
"""
import socket
import struct
import sys


def ip_header(src, dst, payload_len):
    # Version 4, IHL 5, total length, ID 0 and checksum 0 (the kernel fills both), DF, TTL 64, UDP.
    return struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + payload_len, 0, 0x4000, 64, 17, 0,
                       socket.inet_aton(src), socket.inet_aton(dst))


def main():
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for line in sys.stdin:
        parts = line.split()
        if len(parts) != 6:
            continue
        src, sport, dst, dport, count, dns_hex = parts[0], int(parts[1]), parts[2], int(parts[3]), int(parts[4]), parts[5]
        dns = bytes.fromhex(dns_hex)
        udp_len = 8 + len(dns)
        head = ip_header(src, dst, udp_len)
        ports = range(32768, 61000) if dport == 0 else [dport] * count
        sent = 0
        for port in ports:
            # UDP checksum 0: none (RFC 768), accepted by Linux for IPv4.
            pkt = head + struct.pack('!HHHH', sport, port, udp_len, 0) + dns
            try:
                raw.sendto(pkt, (dst, 0))
                sent += 1
            except OSError:
                pass
        sys.stdout.write('sent %d\n' % sent)
        sys.stdout.flush()


if __name__ == '__main__':
    main()
