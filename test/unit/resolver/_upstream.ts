/**
 * A fake upstream DNS server for the forwarding tests: UDP and TCP on the
 * same loopback port (port 0 → a free one), a programmable behaviour per
 * query, and a log of what it received. Nothing here leaves 127.0.0.1.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import type { Clock } from '../../../common/clock.js';
import { silentLogger, type Logger } from '../../../common/log.js';
import { createResolver, type ForwardingOptions, type Resolver, type ResolverForwarding, type ResolverMetrics, type ResolverView, type Transport, type Upstream, type DatagramListener } from '../../../resolver/index.js';
import { network, view } from './_helpers.js';

/** One query as the fake server saw it. */
export interface Seen {
  readonly transport: 'udp' | 'tcp';
  readonly id: number;
  /** The question name lowercased (the forwarder sends it in 0x20 random case, FS3). */
  readonly name: string;
  /** The question name exactly as it came (set by the fake upstream). */
  readonly asked?: string;
  readonly type: string;
  readonly raw: Buffer;
}

/** What to do with a query: reply bytes (the query's ID is copied in), or 'drop' (no reply). */
export type Behaviour = (q: Seen, n: number) => Buffer | 'drop' | Promise<Buffer | 'drop'>;

/** A running fake upstream. */
export interface FakeUpstream {
  readonly port: number;
  readonly seen: Seen[];
  behaviour: Behaviour;
  /** This server as a view upstream. */
  upstream(origin?: Upstream['origin']): Upstream;
  close(): Promise<void>;
}

const running = new Set<FakeUpstream>();

/** Start a fake upstream on 127.0.0.1 (UDP + TCP, same port). */
export async function startUpstream(behaviour: Behaviour): Promise<FakeUpstream> {
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((res) => udp.bind(0, '127.0.0.1', res));
    const port = udp.address().port;
    const tcp = net.createServer();
    const ok = await new Promise<boolean>((res) => {
      tcp.once('error', () => res(false));
      tcp.listen(port, '127.0.0.1', () => res(true));
    });
    if (!ok) {
      udp.close();
      if (attempt > 20) throw new Error('no free port for a fake upstream');
      continue;
    }
    try {
      udp.setRecvBufferSize(1 << 22); // bursts of hundreds of queries (capped by net.core.rmem_max)
    } catch {
      // keep the default
    }
    const fake = serve(udp, tcp, port, behaviour);
    running.add(fake);
    return fake;
  }
}

/** Close every fake upstream still running (afterEach). */
export async function closeUpstreams(): Promise<void> {
  await Promise.all([...running].map((u) => u.close()));
}

function serve(udp: dgram.Socket, tcp: net.Server, port: number, behaviour: Behaviour): FakeUpstream {
  const conns = new Set<net.Socket>();
  const fake: FakeUpstream = {
    port,
    seen: [],
    behaviour,
    upstream: (origin = 'host') => ({ address: '127.0.0.1', port, origin }),
    async close() {
      running.delete(fake);
      for (const c of conns) c.destroy();
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
  const answer = async (raw: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> => {
    let q: Seen;
    try {
      const d = dnsPacket.decode(raw);
      const asked = d.questions?.[0]?.name ?? '';
      q = { transport, id: d.id ?? 0, name: asked.toLowerCase(), asked, type: d.questions?.[0]?.type ?? '', raw };
    } catch {
      return undefined;
    }
    fake.seen.push(q);
    const out = await fake.behaviour(q, fake.seen.length);
    if (out === 'drop') return undefined;
    const copy = Buffer.from(out);
    if (copy.length >= 2) copy.writeUInt16BE(q.id, 0);
    return copy;
  };
  udp.on('message', (msg, rinfo) => {
    void answer(msg, 'udp').then((r) => {
      if (r === undefined) return;
      try {
        udp.send(r, rinfo.port, rinfo.address);
      } catch {
        // closed while a slow behaviour was still answering
      }
    });
  });
  tcp.on('connection', (sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        void answer(msg, 'tcp').then((r) => {
          if (r === undefined || sock.destroyed) return;
          const f = Buffer.alloc(r.length + 2);
          f.writeUInt16BE(r.length, 0);
          r.copy(f, 2);
          sock.write(f);
        });
      }
    });
  });
  return fake;
}

/** Options of reply(). */
export interface ReplyOptions {
  rcode?: 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' | 'FORMERR';
  answers?: dnsPacket.Answer[];
  authorities?: dnsPacket.Answer[];
  tc?: boolean;
  /** Echo the query's OPT (udp size 1232). */
  edns?: boolean;
}

const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

/** A reply to `q` (question echoed as sent) built with dns-packet. */
export function reply(q: Seen, o: ReplyOptions = {}): Buffer {
  const d = dnsPacket.decode(q.raw);
  const flags =
    0x8000 | dnsPacket.RECURSION_AVAILABLE | ((d.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | (o.tc === true ? dnsPacket.TRUNCATED_RESPONSE : 0) | RCODES[o.rcode ?? 'NOERROR'];
  const additionals: dnsPacket.Answer[] = [];
  if (o.edns === true) additionals.push({ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as unknown as dnsPacket.Answer);
  return dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags,
    questions: d.questions ?? [],
    answers: o.answers ?? [],
    authorities: o.authorities ?? [],
    additionals,
  });
}

/** `n` A records for the question name, 10.1.x.y, with `ttl`. */
export function aRecords(q: Seen, n = 1, ttl = 300): dnsPacket.Answer[] {
  return Array.from({ length: n }, (_, i) => ({ type: 'A', name: q.name, ttl, data: `10.1.${i >> 8}.${i & 255}` }) as dnsPacket.Answer);
}

/** One A record `name` → `data`. */
export function aRecord(name: string, data: string, ttl = 300): dnsPacket.Answer {
  return { type: 'A', name, ttl, data };
}

/** An SOA record as Docker's TestProxyNXDOMAIN sends it. */
export function rootSoa(ttl = 86367, minimum = 86400): dnsPacket.Answer {
  return {
    type: 'SOA',
    name: '.',
    ttl,
    data: { mname: 'a.root-servers.net', rname: 'nstld.verisign-grs.com', serial: 2023051800, refresh: 1800, retry: 900, expire: 604800, minimum },
  } as dnsPacket.Answer;
}

/** A behaviour answering every query with `n` A records. */
export const answersA =
  (n = 1, ttl = 300): Behaviour =>
  (q) =>
    reply(q, { answers: aRecords(q, n, ttl) });

/** A behaviour answering with a fixed rcode and no records. */
export const rcodeOnly =
  (rcode: ReplyOptions['rcode']): Behaviour =>
  (q) =>
    reply(q, rcode === undefined ? {} : { rcode });

/** A behaviour that never answers (a dead server). */
export const dead: Behaviour = () => 'drop';

/** A resolver with forwarding stages over `upstreams`, and how to tear it down. */
export interface Rig {
  readonly resolver: Resolver;
  readonly metrics: ResolverMetrics;
  readonly view: ResolverView;
  /** Ask one query; resolves with the reply bytes (undefined: no reply). */
  ask(bytes: Buffer, transport?: Transport): Promise<Buffer | undefined>;
  readonly inflight: () => number;
  close(): Promise<void>;
}

const rigs = new Set<Rig>();

/** Fast test timeouts: 300 ms per server, 1 s per query. */
export const FAST: Partial<ForwardingOptions> = { timeoutMs: 300, budgetMs: 1000 };

/** Options of forwardingRig beyond the view's upstreams. */
export interface RigOptions {
  options?: Partial<ForwardingOptions>;
  cache?: ResolverForwarding['cache'];
  clock?: Clock;
  logger?: Logger;
  dialers?: ResolverForwarding['dialers'];
  view?: Partial<ResolverView>;
}

/** A resolver (one local name `web` → 10.0.0.2) forwarding to `upstreams`. */
export function forwardingRig(upstreams: readonly Upstream[], o: RigOptions = {}): Rig {
  const v = view([network('net1', [{ endpointId: 'w', names: ['web'], ipv4: '10.0.0.2' }])], { upstreams, ...o.view });
  const logger = o.logger ?? silentLogger();
  const resolver = createResolver({
    view: v,
    logger,
    forwarding: {
      options: { ...FAST, ...o.options },
      ...(o.cache === undefined ? {} : { cache: o.cache }),
      ...(o.dialers === undefined ? {} : { dialers: o.dialers }),
    },
    ...(o.clock === undefined ? {} : { clock: o.clock }),
  });
  const metrics = resolver.metrics;
  const rig: Rig = {
    resolver,
    metrics,
    view: v,
    ask: async (bytes, transport = 'udp') => resolver.handle(bytes, transport),
    inflight: () => resolver.inflight,
    async close() {
      rigs.delete(rig);
      await resolver.close();
    },
  };
  rigs.add(rig);
  return rig;
}

/** Close every rig and fake upstream (afterEach). */
export async function closeAll(): Promise<void> {
  await Promise.all([...rigs].map((r) => r.close()));
  await closeUpstreams();
}

/** A resolver serving on 127.0.0.1 (UDP and TCP, ports 0) and clients for it. */
export interface Live {
  readonly udpPort: number;
  readonly tcpPort: number;
  udpAsk(msg: Buffer, timeoutMs?: number): Promise<Buffer | undefined>;
  tcpAsk(msg: Buffer): Promise<Buffer>;
}

/**
 * Serve `rig.resolver` on loopback; closed with the rig. `batched`: UDP through
 * this listener (the native recvmmsg/sendmmsg one) on `batched.port` instead of dgram.
 */
export async function serveLive(rig: Rig, batched?: { udp: DatagramListener; port: number }): Promise<Live> {
  const tcp = net.createServer();
  await new Promise<void>((res) => tcp.listen(0, '127.0.0.1', res));
  let udpPort: number;
  if (batched === undefined) {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((res) => udp.bind(0, '127.0.0.1', res));
    udpPort = udp.address().port;
    rig.resolver.serve({ udp, tcp });
  } else {
    udpPort = batched.port;
    rig.resolver.serve({ udp: batched.udp, tcp });
  }
  return {
    udpPort,
    tcpPort: (tcp.address() as net.AddressInfo).port,
    udpAsk: (msg, timeoutMs = 2000) => udpAsk(udpPort, msg, timeoutMs),
    tcpAsk: (msg) => tcpAsk((tcp.address() as net.AddressInfo).port, msg),
  };
}

/** A port no UDP socket on 127.0.0.1 holds right now (bound and released). */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', res));
  const port = s.address().port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

/** One UDP query to 127.0.0.1:`port`; undefined after `timeoutMs` without a reply. */
export async function udpAsk(port: number, msg: Buffer, timeoutMs = 2000): Promise<Buffer | undefined> {
  const c = dgram.createSocket('udp4');
  try {
    return await new Promise<Buffer | undefined>((res) => {
      const t = setTimeout(() => res(undefined), timeoutMs);
      c.on('message', (m) => {
        clearTimeout(t);
        res(m);
      });
      c.send(msg, port, '127.0.0.1');
    });
  } finally {
    c.close();
  }
}

/** One framed TCP query to 127.0.0.1:`port`, resolving with the reply. */
export function tcpAsk(port: number, msg: Buffer): Promise<Buffer> {
  return new Promise<Buffer>((res, rej) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    sock.on('error', rej);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        res(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        sock.destroy();
      }
    });
    const f = Buffer.alloc(msg.length + 2);
    f.writeUInt16BE(msg.length, 0);
    msg.copy(f, 2);
    sock.write(f);
  });
}
