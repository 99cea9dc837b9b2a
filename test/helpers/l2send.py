#!/usr/bin/env python3
"""Send one IPv4/UDP datagram as an Ethernet frame (stdlib only), bypassing
the sender's routing table: the way a host on the LAN, or a container with
CAP_NET_RAW, puts a packet to 127.0.0.1 on the wire, which a normal socket
never does (the kernel keeps loopback destinations on lo).

  l2send.py <ifname> <dst_mac> <src_ip> <dst_ip> <dst_port> <payload>

Runs as root inside the namespace that owns <ifname>. Prints "sent".
"""
import socket
import struct
import sys


def checksum(data):
    if len(data) % 2:
        data += b'\0'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def main():
    ifname, dst_mac, src_ip, dst_ip, dst_port, payload = sys.argv[1:7]
    data = payload.encode()
    udp = struct.pack('!HHHH', 40000, int(dst_port), 8 + len(data), 0) + data  # UDP checksum 0: none (RFC 768)
    head = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                       socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    head = head[:10] + struct.pack('!H', checksum(head)) + head[12:]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    src_mac = s.getsockname()[4]
    frame = bytes.fromhex(dst_mac.replace(':', '')) + src_mac + struct.pack('!H', 0x0800) + head + udp
    s.send(frame)
    print('sent')


if __name__ == '__main__':
    main()
