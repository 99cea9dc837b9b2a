/**
 * In-process rate of resolver.handle() per scenario (no sockets, no kernel):
 * the JS share of a query, steadier than dnsperf on this shared box, for A/B
 * checks of hot-path changes. The resolver is the one a sandbox runs (local
 * stage, then the forwarding stages with the default cache) over a fake
 * exchanger that answers like the bench upstream (fwd names: A, TTL 300;
 * anything else: NXDOMAIN with an SOA).
 *
 *   node dist-bench/bench/handle-bench.js [seconds=2] [names=1000] [scenarios=a,aaaa,fwd-cached,nx-cached]
 */
import dnsPacket from 'dns-packet';
import { silentLogger } from '../common/log.js';
import { createResolver, RecordTable, type ResolverView } from '../resolver/index.js';
import type { Exchanger } from '../resolver/forward.js';

const seconds = Number(process.argv[2] ?? 2);
const names = Number(process.argv[3] ?? 1000);
const only = (process.argv[4] ?? 'a,aaaa,fwd-cached,nx-cached').split(',');
const perPeer = names <= 1000 ? 50 : 100;
const ctr = (i: number): string => `ctr${String(i).padStart(5, '0')}`;

const table = new RecordTable('benchnet');
for (let first = 1; first <= names; first += perPeer) {
  const own = Array.from({ length: Math.min(perPeer, names - first + 1) }, (_, j) => ctr(first + j));
  table.addEndpoint({ endpointId: `ep${first}`, names: own, ipv4: `10.90.${first >> 8}.${first & 255}` });
}
const view: ResolverView = {
  id: 'bench',
  networks: [{ name: 'benchnet', records: table, ttl: 600, internal: false }],
  linkAliases: new Map(),
  ndotsSet: false,
  upstreams: [{ address: '127.0.0.53', port: 53, origin: 'host' }],
  externalAccess: true,
};

// The bench upstream's replies, built once per name.
function upstreamReply(raw: Buffer): Buffer {
  const q = dnsPacket.decode(raw);
  const question = q.questions![0]!;
  const fwd = question.name.startsWith('fwd');
  return dnsPacket.encode({
    id: q.id,
    type: 'response',
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (fwd ? 0 : 3),
    questions: [question],
    answers: fwd ? [{ type: 'A', name: question.name, ttl: 300, data: '127.2.0.1' }] : [],
    authorities: fwd ? [] : [{ type: 'SOA', name: '.', ttl: 3600, data: { mname: 'bench.invalid', rname: 'hostmaster.bench.invalid', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 3600 } }],
  });
}
const exchanger: Exchanger = {
  exchange: (_server, q) => Promise.resolve({ ok: true, bytes: upstreamReply(q.bytes) }),
  close: () => Promise.resolve(),
};
const logger = silentLogger();
const resolver = createResolver({ view, logger, forwarding: { exchanger: () => exchanger } });

function queries(list: readonly string[], type: 'A' | 'AAAA'): Buffer[] {
  return list.map((name, i) => dnsPacket.encode({ type: 'query', id: i & 0xffff, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] }));
}

async function loop(qs: Buffer[], ms: number): Promise<number> {
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) {
      const r = resolver.handle(qs[(n + i) % qs.length]!, 'udp');
      if (r instanceof Promise) await r;
    }
    n += 1000;
  }
  return n;
}

async function run(label: string, qs: Buffer[]): Promise<void> {
  if (!only.includes(label)) return;
  for (const q of qs) await resolver.handle(q, 'udp'); // fill the cache (cached scenarios)
  await loop(qs, 500); // warm-up: optimised code for this path
  const n = await loop(qs, seconds * 1000);
  process.stdout.write(`${label.padEnd(12)} ${Math.round(n / seconds).toLocaleString('en').padStart(10)} queries/s\n`);
}

const local = Array.from({ length: 1000 }, (_, i) => ctr(1 + ((i * 7919) % names)));
const fwdNames = Array.from({ length: 1000 }, (_, i) => `fwd${String(i + 1).padStart(5, '0')}.upstream.bench`);
const nxNames = Array.from({ length: 1000 }, (_, i) => `nx${String(i + 1).padStart(5, '0')}`);
await run('a', queries(local, 'A'));
await run('aaaa', queries(local, 'AAAA'));
await run('fwd-cached', queries(fwdNames, 'A'));
await run('nx-cached', queries(nxNames, 'A'));
