/**
 * A fake upstream DNS server for integration tests, on port 53 of a loopback
 * address of the test's choosing, in the host namespace or inside a test
 * namespace (through the native helper). It answers A for the names it is
 * given and NXDOMAIN with an SOA otherwise, and counts what it received.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { nativeSocketInNetns } from '../../common/io/native.js';

/** A running fake upstream. */
export interface TestUpstream {
  readonly address: string;
  /** Query names received, in order, lowercased (the forwarder sends 0x20 random case, FS3). */
  readonly seen: string[];
  close(): Promise<void>;
}

function answer(query: Buffer, records: ReadonlyMap<string, string>): Buffer {
  const q = dnsPacket.decode(query);
  const question = q.questions?.[0];
  const name = question?.name.toLowerCase() ?? '';
  const ip = records.get(name);
  const base = { type: 'response' as const, id: q.id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: q.questions ?? [] };
  if (ip !== undefined && question?.type === 'A') {
    return dnsPacket.encode({ ...base, answers: [{ type: 'A', name: question.name, ttl: 300, data: ip }] });
  }
  if (ip !== undefined) return dnsPacket.encode(base);
  return dnsPacket.encode({
    ...base,
    flags: base.flags | 3, // NXDOMAIN
    authorities: [{ type: 'SOA', name: 'test.', ttl: 60, data: { mname: 'ns.test.', rname: 'h.test.', serial: 1, refresh: 60, retry: 60, expire: 60, minimum: 30 } }],
  });
}

/** Start a fake upstream on `address`:53 (UDP and TCP), inside `netnsPath` when given. */
export async function startTestUpstream(address: string, records: Record<string, string>, netnsPath?: string): Promise<TestUpstream> {
  const table = new Map(Object.entries(records).map(([k, v]) => [k.toLowerCase(), v]));
  const seen: string[] = [];
  const udp = dgram.createSocket('udp4');
  const tcp = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('error', () => sock.destroy());
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        seen.push((dnsPacket.decode(msg).questions?.[0]?.name ?? '').toLowerCase());
        const r = answer(msg, table);
        const len = Buffer.alloc(2);
        len.writeUInt16BE(r.length);
        sock.write(Buffer.concat([len, r]));
      }
    });
  });
  udp.on('message', (m, rinfo) => {
    try {
      seen.push((dnsPacket.decode(m).questions?.[0]?.name ?? '').toLowerCase());
      udp.send(answer(m, table), rinfo.port, rinfo.address);
    } catch {
      // not a query: ignore
    }
  });
  if (netnsPath === undefined) {
    await new Promise<void>((res) => udp.bind({ address, port: 53, exclusive: true }, res));
    await new Promise<void>((res) => tcp.listen({ host: address, port: 53, exclusive: true }, res));
  } else {
    const open = nativeSocketInNetns();
    if (open === undefined) throw new Error('the native helper is needed to serve inside a namespace (npm run build:native)');
    const ufd = open(netnsPath, 4, 'udp', address, 53);
    const tfd = open(netnsPath, 4, 'tcp', address, 53, true);
    await new Promise<void>((res) => udp.bind({ fd: ufd }, res));
    await new Promise<void>((res) => tcp.listen({ fd: tfd }, res));
  }
  return {
    address,
    seen,
    async close() {
      await new Promise<void>((res) => udp.close(() => res()));
      await new Promise<void>((res) => tcp.close(() => res()));
    },
  };
}

/** A random loopback address 127.53.x.y, so concurrent test files never collide. */
export function randomLoopback(): string {
  return `127.53.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
}
