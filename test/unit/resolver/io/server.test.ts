import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../common/log.js';
import { createResolver, type TcpLimits } from '../../../../resolver/index.js';
import { TCP_DEFAULTS } from '../../../../resolver/options.js';
import type { Handler } from '../../../../resolver/pipeline.js';
import { serveSockets, type SocketServer } from '../../../../resolver/io/server.js';
import type { HandleFn } from '../../../../resolver/pipeline.js';
import { decode, network, query, view } from '../_helpers.js';
import { udpAsk } from '../_upstream.js';

const v = view([network('net1', [{ endpointId: 'w', names: ['web'], ipv4: '10.0.0.2' }])]);
const slow: Handler = (q, next) =>
  q.lname === 'slow.example' ? new Promise((res) => setTimeout(() => res(next(q)), 80)) : next(q);

interface Rig {
  udpPort: number;
  tcpPort: number;
  server: SocketServer;
}
const rigs: SocketServer[] = [];
const clients: net.Socket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(rigs.splice(0).map((s) => s.close()));
});

type SendUdp = (reply: Buffer, port: number, address: string) => void;

async function rig(tcp: Partial<TcpLimits> = {}, handle?: HandleFn, allowHalfOpen = false, sendUdp?: (udp: dgram.Socket) => SendUdp): Promise<Rig> {
  const udp = dgram.createSocket('udp4');
  const srv = net.createServer({ allowHalfOpen });
  await new Promise<void>((res) => udp.bind(0, '127.0.0.1', res));
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const h = handle ?? createResolver({ view: v, logger: silentLogger(), stages: [slow] }).handle;
  const server = serveSockets({ udp, tcp: srv, sendUdp: sendUdp?.(udp) }, h, { logger: silentLogger(), tcp: { ...TCP_DEFAULTS, ...tcp } });
  rigs.push(server);
  return { udpPort: udp.address().port, tcpPort: (srv.address() as net.AddressInfo).port, server };
}

function frame(msg: Buffer): Buffer {
  const b = Buffer.alloc(msg.length + 2);
  b.writeUInt16BE(msg.length, 0);
  msg.copy(b, 2);
  return b;
}

/** A TCP client collecting framed replies. */
async function connect(port: number): Promise<{ sock: net.Socket; replies: Buffer[]; closed: Promise<void>; next: (n: number) => Promise<void> }> {
  const sock = net.connect(port, '127.0.0.1');
  clients.push(sock);
  sock.on('error', () => undefined);
  const replies: Buffer[] = [];
  let buf = Buffer.alloc(0);
  let wake = (): void => undefined;
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      replies.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      buf = buf.subarray(2 + buf.readUInt16BE(0));
    }
    wake();
  });
  const closed = new Promise<void>((res) => sock.on('close', () => res()));
  const next = (n: number): Promise<void> =>
    new Promise((res) => {
      wake = () => replies.length >= n && res();
      wake();
    });
  await new Promise<void>((res, rej) => {
    sock.once('connect', () => res());
    sock.once('error', rej);
  });
  return { sock, replies, closed, next };
}

/** Wait until the server has no open connection (a paused client never sees its own close). */
async function drained(server: SocketServer, limitMs: number): Promise<number> {
  const t0 = performance.now();
  while (server.connections > 0 && performance.now() - t0 < limitMs) await new Promise((r) => setTimeout(r, 10));
  expect(server.connections).toBe(0);
  return performance.now() - t0;
}

/** Deterministic pseudo-random bytes (xorshift32). */
function randomBytes(seed: number): (n: number) => Buffer {
  let x = seed;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  return (n) => Buffer.from(Array.from({ length: n }, () => next() & 255));
}

describe('io/server (R1, R2, R14)', () => {
  it('R1 UDP replies go through the handles\' sendUdp when given (the native sendto); a failing send drops only that reply', async () => {
    const sent: string[] = [];
    let fail = false;
    const r = await rig({}, undefined, false, (udp) => (reply, port, address) => {
      if (fail) throw new Error('EAGAIN');
      sent.push(`${address}:${port}`);
      udp.send(reply, port, address);
    });
    expect(decode((await udpAsk(r.udpPort, query('web')))!).answers?.[0]?.data).toBe('10.0.0.2');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^127\.0\.0\.1:\d+$/);
    fail = true;
    expect(await udpAsk(r.udpPort, query('web'), 200)).toBeUndefined();
    fail = false;
    expect(decode((await udpAsk(r.udpPort, query('web')))!).answers).toHaveLength(1);
    expect(sent).toHaveLength(2);
  });

  it('R1 a UDP query is answered to its sender', async () => {
    const { udpPort } = await rig();
    const d = decode(await udpAsk(udpPort, query('web', 'A', { id: 11 })));
    expect(d).toMatchObject({ id: 11, rcode: 'NOERROR' });
    expect(d.answers?.[0]?.data).toBe('10.0.0.2');
  });

  it('R14 two pipelined TCP queries in one write get two framed replies', async () => {
    const { tcpPort } = await rig();
    const c = await connect(tcpPort);
    c.sock.write(Buffer.concat([frame(query('web', 'A', { id: 1 })), frame(query('nope.example', 'A', { id: 2 }))]));
    await c.next(2);
    expect(c.replies.map((r) => [decode(r).id, decode(r).rcode])).toEqual([
      [1, 'NOERROR'],
      [2, 'SERVFAIL'],
    ]);
  });

  it('FS5 a TCP frame announcing more than 1,232 bytes ends the connection before it is buffered; earlier replies still go', async () => {
    const { tcpPort, server } = await rig();
    const c = await connect(tcpPort);
    const huge = Buffer.alloc(2);
    huge.writeUInt16BE(60_000, 0);
    c.sock.write(Buffer.concat([frame(query('web', 'A', { id: 7 })), huge, Buffer.alloc(1000)]));
    await c.closed;
    expect(c.replies.map((r) => decode(r).id)).toEqual([7]);
    await drained(server, 1000);
  });

  it('FS5 over UDP a query over 1,232 bytes is REFUSED with its question', async () => {
    const { udpPort } = await rig();
    const padded = query('web', 'A', { edns: 1232, ednsOptions: [{ code: 12, data: Buffer.alloc(2000) }] });
    const d = decode(await udpAsk(udpPort, padded));
    expect(d.rcode).toBe('REFUSED');
    expect(d.questions?.[0]?.name).toBe('web');
  });

  it('R14 a reply is written when ready: a slow query does not hold back a fast one behind it', async () => {
    const { tcpPort } = await rig();
    const c = await connect(tcpPort);
    c.sock.write(Buffer.concat([frame(query('slow.example', 'A', { id: 1 })), frame(query('web', 'A', { id: 2 }))]));
    await c.next(2);
    expect(c.replies.map((r) => decode(r).id)).toEqual([2, 1]);
  });

  it('R14 a split length prefix and a body sent one byte at a time are reassembled', async () => {
    const { tcpPort } = await rig();
    const c = await connect(tcpPort);
    const bytes = frame(query('web', 'A', { id: 3 }));
    c.sock.write(bytes.subarray(0, 1));
    await new Promise((r) => setTimeout(r, 30));
    for (let i = 1; i < bytes.length; i++) c.sock.write(bytes.subarray(i, i + 1));
    await c.next(1);
    expect(decode(c.replies[0]).id).toBe(3);
  });

  it('R14 an idle client, or one stuck in a length prefix, is cut after the idle timeout', async () => {
    const { tcpPort, server } = await rig({ idleTimeoutMs: 150 });
    const idle = await connect(tcpPort);
    const partial = await connect(tcpPort);
    partial.sock.write(Buffer.from([0]));
    const waited = await drained(server, 2000);
    expect(waited).toBeGreaterThanOrEqual(100);
    await Promise.all([idle.closed, partial.closed]);
  });

  it('R14 with allowHalfOpen, a client that half-closes still gets its in-flight replies, then the end', async () => {
    const { tcpPort } = await rig({}, undefined, true);
    const c = await connect(tcpPort);
    c.sock.end(Buffer.concat([frame(query('slow.example', 'A', { id: 1 })), frame(query('web', 'A', { id: 2 }))]));
    await c.closed;
    expect(c.replies.map((r) => decode(r).id)).toEqual([2, 1]);
  });

  it('R14 a connection serves at most maxQueriesPerConnection queries, then closes', async () => {
    const { tcpPort } = await rig({ maxQueriesPerConnection: 3 });
    const c = await connect(tcpPort);
    c.sock.write(Buffer.concat([1, 2, 3, 4, 5].map((id) => frame(query('slow.example', 'A', { id })))));
    await c.closed;
    expect(c.replies.map((r) => decode(r).id)).toEqual([1, 2, 3]);
  });

  it('R14 connections beyond maxConnections are closed at once; others keep working', async () => {
    const { tcpPort, server } = await rig({ maxConnections: 2 });
    const a = await connect(tcpPort);
    await connect(tcpPort);
    const third = await connect(tcpPort);
    await third.closed;
    expect(server.connections).toBe(2);
    a.sock.write(frame(query('web', 'A', { id: 9 })));
    await a.next(1);
    expect(decode(a.replies[0]).id).toBe(9);
  });

  it('R14 a client that never reads while async replies pile up is destroyed at maxPendingBytes', async () => {
    const big = Buffer.alloc(40_000, 0x41);
    const handle: HandleFn = () => new Promise((res) => setImmediate(() => res(big)));
    const { tcpPort, server } = await rig({ maxPendingBytes: 256 * 1024, maxQueriesPerConnection: 1000, idleTimeoutMs: 5000 }, handle);
    const c = await connect(tcpPort);
    c.sock.pause();
    c.sock.write(Buffer.concat(Array.from({ length: 600 }, (_, id) => frame(query('x', 'A', { id })))));
    expect(await drained(server, 4000)).toBeLessThan(4000); // cut by the byte cap, not the 5 s idle timer
  });

  it('R14 a client that never reads synchronous replies is paused by back-pressure, then cut when idle', async () => {
    const big = Buffer.alloc(60_000, 0x42);
    let calls = 0;
    const { tcpPort, server } = await rig({ idleTimeoutMs: 300, maxQueriesPerConnection: 100_000 }, () => (calls++, big));
    const c = await connect(tcpPort);
    c.sock.pause();
    const burst = Buffer.concat(Array.from({ length: 500 }, (_, id) => frame(query('x', 'A', { id }))));
    for (let i = 0; i < 10; i++) c.sock.write(burst);
    expect(await drained(server, 4000)).toBeGreaterThanOrEqual(250);
    expect(calls).toBeLessThan(1000); // framing stopped once the socket was full: 5000 were sent
  });

  it('R2 10,000 random byte strings over UDP and TCP crash nothing; a normal query answers afterwards', async () => {
    const { udpPort, tcpPort } = await rig();
    const rnd = randomBytes(0x5eed);
    const sender = dgram.createSocket('udp4');
    for (let i = 0; i < 5000; i++) sender.send(rnd((i * 7) % 300), udpPort, '127.0.0.1');
    await new Promise<void>((res) => sender.close(() => res()));
    const conns = await Promise.all(Array.from({ length: 10 }, () => connect(tcpPort)));
    conns.forEach((c, k) => {
      const chunks = Array.from({ length: 500 }, (_, i) => {
        const body = rnd((i * 13 + k) % 200);
        return k % 2 === 0 ? frame(body) : body; // framed garbage, and raw garbage
      });
      c.sock.write(Buffer.concat(chunks));
    });
    await new Promise((r) => setTimeout(r, 100));
    for (const c of conns) c.sock.destroy();
    let answer: Buffer | undefined;
    for (let i = 0; i < 5 && answer === undefined; i++) answer = await udpAsk(udpPort, query('web', 'A', { id: 77 }), 500);
    expect(decode(answer).id).toBe(77);
    const c = await connect(tcpPort);
    c.sock.write(frame(query('web', 'A', { id: 78 })));
    await c.next(1);
    expect(decode(c.replies[0]).rcode).toBe('NOERROR');
  });

  it('R1 close() stops both listeners and ends open connections', async () => {
    const { tcpPort, server } = await rig();
    const c = await connect(tcpPort);
    await server.close();
    await c.closed;
    await expect(connect(tcpPort)).rejects.toThrow();
  });
});
