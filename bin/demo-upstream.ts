/**
 * The demo's own upstream: a tiny DNS server on a loopback address in this
 * namespace that knows one name (so the demo can show forwarding and caching)
 * and answers NXDOMAIN with an SOA for everything else. It is the only server
 * the demo's sandboxes forward to: nothing leaves the machine.
 */
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

/** A running demo upstream. */
export interface DemoUpstream {
  readonly address: string;
  /** How many queries it received. */
  readonly count: () => number;
  close(): Promise<void>;
}

const SOA = { mname: 'ns.demo.', rname: 'hostmaster.demo.', serial: 1, refresh: 60, retry: 60, expire: 60, minimum: 60 };

/** Start the upstream on a free 127.53.x.y:53 (UDP). */
export async function startDemoUpstream(records: Readonly<Record<string, string>>): Promise<DemoUpstream> {
  let n = 0;
  for (let attempt = 0; attempt < 20; attempt++) {
    const address = `127.53.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    const sock = dgram.createSocket('udp4');
    sock.on('message', (msg, rinfo) => {
      try {
        const q = dnsPacket.decode(msg);
        const question = q.questions?.[0];
        if (question === undefined) return;
        n++;
        const ip = records[question.name.toLowerCase()];
        const flags = dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (ip === undefined ? 3 : 0);
        const answers = ip !== undefined && question.type === 'A' ? [{ type: 'A' as const, name: question.name, ttl: 300, data: ip }] : [];
        const authorities = ip === undefined ? [{ type: 'SOA' as const, name: 'demo.', ttl: 60, data: SOA }] : [];
        sock.send(dnsPacket.encode({ type: 'response', id: q.id, flags, questions: [question], answers, authorities }), rinfo.port, rinfo.address);
      } catch {
        // not a DNS query: ignore it
      }
    });
    const ok = await new Promise<boolean>((resolve) => {
      sock.once('error', () => resolve(false));
      sock.bind({ address, port: 53, exclusive: true }, () => resolve(true));
    });
    if (ok) return { address, count: () => n, close: () => new Promise<void>((r) => sock.close(() => r())) };
    sock.close();
  }
  throw new Error('no free loopback address for the demo upstream');
}
