/**
 * The batched listener hands each datagram over as a view of one receive
 * area that the next read overwrites (sandbox/io/listener-udp.ts). A query
 * that waits for an upstream must therefore never read its datagram again:
 * here every forwarded query waits while hundreds of other datagrams are read
 * into the same area, and each reply must still carry its own ID, its own
 * question (case included) and its own answer. Root: the socket is made by
 * setns (as sandboxes get theirs).
 */
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { query } from './_helpers.js';
import { aRecord, closeAll, forwardingRig, freeUdpPort, reply, serveLive, startUpstream } from './_upstream.js';
import { MAX_QUERY_SIZE } from '../../../resolver/index.js';
import { nativeSocketInNetns } from '../../../common/io/native.js';
import { batchedUdpAvailable, nativeDatagramListener } from '../../../sandbox/io/listener-udp.js';

afterEach(closeAll);

const batchedOk = process.getuid?.() === 0 && nativeSocketInNetns() !== undefined && batchedUdpAvailable();

/** Send every query at once from one socket; the replies by ID (undefined: none within `ms`). */
async function burst(port: number, queries: Buffer[], ms: number): Promise<Map<number, Buffer>> {
  const c = dgram.createSocket('udp4');
  const got = new Map<number, Buffer>();
  try {
    await new Promise<void>((res) => c.bind(0, '127.0.0.1', res));
    c.setRecvBufferSize(1 << 20);
    const done = new Promise<void>((res) => {
      const t = setTimeout(res, ms);
      c.on('message', (m) => {
        got.set(m.readUInt16BE(0), m);
        if (got.size === queries.length) {
          clearTimeout(t);
          res();
        }
      });
    });
    for (const [i, q] of queries.entries()) {
      c.send(q, port, '127.0.0.1');
      if (i % 16 === 15) await new Promise((r) => setImmediate(r)); // several reads of the listener, not one
    }
    await done;
  } finally {
    c.close();
  }
  return got;
}

describe.skipIf(!batchedOk)('batched listener: a query waiting upstream never reads its reused datagram', () => {
  it('FS5 48 forwarded queries (upstream 150 ms) among 480 answered at once: each reply has its own ID, question and answer', { timeout: 30_000 }, async () => {
    // The upstream answers fwdNN.example with 10.1.0.NN after 150 ms; meanwhile the area is overwritten many times.
    const up = await startUpstream(async (q) => {
      await new Promise((r) => setTimeout(r, 150));
      const n = Number(/^fwd(\d+)\./.exec(q.name)?.[1] ?? 255);
      return reply(q, { answers: [aRecord(q.asked ?? q.name, `10.1.0.${n}`)] });
    });
    const rig = forwardingRig([up.upstream()], { options: { timeoutMs: 2000, budgetMs: 3000 }, cache: false });
    const port = await freeUdpPort();
    const fd = nativeSocketInNetns()!('/proc/self/ns/net', 4, 'udp', '127.0.0.1', port);
    const udp = nativeDatagramListener(fd, MAX_QUERY_SIZE + 1)!;
    await serveLive(rig, { udp, port });

    const queries: Buffer[] = [];
    const want = new Map<number, { name: string; data: string | undefined }>();
    let id = 1;
    for (let i = 0; i < 48; i++) {
      // Mixed case that differs per query: a question read back from a reused slot would show another one's case.
      const name = `FwD${String(i).padStart(2, '0')}.ExAmPlE`.split('').map((ch, k) => ((i >> k % 5) & 1 ? ch.toUpperCase() : ch.toLowerCase())).join('');
      want.set(id, { name, data: `10.1.0.${i}` });
      queries.push(query(name, 'A', { id: id++, edns: 1232 }));
      for (let j = 0; j < 10; j++) {
        // Answered at once: A of web (local), AAAA of WeB (NODATA: web has no IPv6 address).
        const local = j % 2 === 0 ? 'web' : 'WeB';
        want.set(id, { name: local, data: j % 2 === 0 ? '10.0.0.2' : undefined });
        queries.push(query(local, j % 2 === 0 ? 'A' : 'AAAA', { id: id++, edns: 1232 }));
      }
    }
    const got = await burst(port, queries, 10_000);
    expect(got.size).toBe(queries.length);
    for (const [qid, w] of want) {
      const r = dnsPacket.decode(got.get(qid)!);
      expect(r.id).toBe(qid);
      expect(r.questions?.[0]?.name, `question of ${qid}`).toBe(w.name);
      const a = r.answers?.find((x) => x.type === 'A') as dnsPacket.StringAnswer | undefined;
      expect(a?.data, `answer of ${qid} (${w.name})`).toBe(w.data);
    }
    expect(up.seen.length).toBe(48);
  });
});
