/**
 * Micro-benchmark of resolver.handle() on the local A path (no sockets), for
 * .notes/resolver-core.md. Run: npx tsx test/unit/resolver/bench/handle-bench.ts
 * Not a test: vitest only collects *.test.ts.
 */
import dnsPacket from 'dns-packet';
import { silentLogger } from '../../../../common/log.js';
import { createResolver, RecordTable, type ResolverView } from '../../../../resolver/index.js';

const NAMES = 1000;
const table = new RecordTable('benchnet');
for (let i = 1; i <= NAMES; i++) {
  const id = String(i).padStart(5, '0');
  table.addEndpoint({ endpointId: `ep${id}`, names: [`ctr${id}`], ipv4: `10.89.${(i + 1) >> 8}.${(i + 1) & 255}` });
}
const view: ResolverView = {
  id: 'bench',
  networks: [{ name: 'benchnet', records: table, ttl: 600, internal: false }],
  linkAliases: new Map(),
  ndotsSet: true,
  upstreams: [],
  externalAccess: true,
};
const resolver = createResolver({ view, logger: silentLogger() });

function queries(type: 'A' | 'AAAA', edns: boolean): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 1; i <= NAMES; i++) {
    const name = `ctr${String(i).padStart(5, '0')}`;
    out.push(
      dnsPacket.encode({
        type: 'query',
        id: i,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ name, type, class: 'IN' }],
        additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 4096, flags: 0 } as dnsPacket.Answer] : [],
      }),
    );
  }
  return out;
}

function run(label: string, qs: Buffer[], seconds: number): void {
  let n = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) resolver.handle(qs[(n + i) % qs.length]!, 'udp');
    n += 1000;
  }
  console.log(`${label}: ${Math.round(n / seconds).toLocaleString('en')} queries/s`);
}

const secs = Number(process.argv[2] ?? 3);
run('warm-up A', queries('A', false), 1);
run('A (no EDNS)', queries('A', false), secs);
run('A (EDNS 4096)', queries('A', true), secs);
run('AAAA NODATA', queries('AAAA', false), secs);
