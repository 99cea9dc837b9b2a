/**
 * Serves 1,000 names on 127.0.0.1:<port> (UDP+TCP) for a dnsperf run, for
 * .notes/resolver-core.md. Run: npx tsx test/unit/resolver/bench/serve-bench.ts 5353
 * then e.g. `dnsperf -s 127.0.0.1 -p 5353 -d queries.txt -l 5`. Stops on SIGTERM.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { silentLogger } from '../../../../common/log.js';
import { createResolver, RecordTable } from '../../../../resolver/index.js';

const port = Number(process.argv[2] ?? 5353);
const table = new RecordTable('benchnet');
for (let i = 1; i <= 1000; i++) {
  const id = String(i).padStart(5, '0');
  table.addEndpoint({ endpointId: `ep${id}`, names: [`ctr${id}`], ipv4: `10.89.${(i + 1) >> 8}.${(i + 1) & 255}` });
}
const resolver = createResolver({
  view: { id: 'bench', networks: [{ name: 'benchnet', records: table, ttl: 600, internal: false }], linkAliases: new Map(), ndotsSet: true, upstreams: [], externalAccess: true },
  logger: silentLogger(),
});
const udp = dgram.createSocket('udp4');
const tcp = net.createServer();
udp.bind(port, '127.0.0.1', () => tcp.listen(port, '127.0.0.1', () => resolver.serve({ udp, tcp })));
process.on('SIGTERM', () => void resolver.close().then(() => process.exit(0)));
