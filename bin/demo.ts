/**
 * `sandns demo`: three sandboxes on one bridge network resolve each other by
 * name through 127.0.0.11 with real clients (glibc's getent, dig), forward
 * an outside name to the demo's own loopback upstream, then tear everything
 * down, even on Ctrl-C or error. Nothing is forwarded to the machine's own
 * resolver: the origin resolv.conf is a file of the demo's own.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { createController, type Controller, type Network } from '../controller/index.js';
import { createLogger } from '../common/log.js';
import { startDemoUpstream, type DemoUpstream } from './demo-upstream.js';

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

async function runIn(netns: string, argv: string[]): Promise<string> {
  const r = await execa('ip', ['netns', 'exec', netns, ...argv], { reject: false, timeout: 15_000 });
  const out = r.stdout.trim();
  return r.exitCode === 0 ? (out === '' ? '(no output)' : out) : `FAILED (exit ${r.exitCode}) ${r.stderr.trim()}`;
}

/** Print the record table of every network. */
export function printRecords(controller: Controller): void {
  print('Records served by the embedded resolver:');
  print(`  ${'NETWORK'.padEnd(14)} ${'NAME'.padEnd(16)} ${'IPv4'.padEnd(15)} PTR`);
  for (const net of controller.networks()) {
    for (const e of net.records.entries()) {
      const ptr = e.v4.map((ip) => net.records.lookupReverse(ip)).filter((p) => p !== undefined).join(' ');
      print(`  ${net.name.padEnd(14)} ${e.name.padEnd(16)} ${e.v4.join(',').padEnd(15)} ${ptr}`);
    }
  }
}

/** The three sandboxes, each with its own namespace, joined to `net`. */
async function createSandboxes(controller: Controller, net: Network, tag: string): Promise<Record<string, string>> {
  const netns: Record<string, string> = {};
  for (const name of ['web', 'db', 'cache']) {
    netns[name] = `sdemo${tag}-${name}`;
    const sb = await controller.newSandbox(name, { hostname: name, netnsName: netns[name] });
    const ep = await net.createEndpoint(name, name === 'db' ? { aliases: ['database'] } : {});
    await ep.join(sb);
    print(`sandbox ${name.padEnd(5)}: netns ${netns[name]}, eth0 ${ep.ipv4}${ep.aliases.length ? `, aliases ${ep.aliases.join(',')}` : ''}`);
  }
  return netns;
}

/** Resolve from inside `web` with real clients; true when every step worked. */
async function resolveFromWeb(web: string, dbIp: string, upstream: DemoUpstream): Promise<boolean> {
  const dig = ['dig', '+time=2', '+tries=1', '@127.0.0.11'];
  const steps: [string, string[]][] = [
    ['getent hosts db', ['getent', 'hosts', 'db']],
    ['getent hosts database', ['getent', 'hosts', 'database']],
    ['getent hosts cache', ['getent', 'hosts', 'cache']],
    ['getent hosts db.demonet', ['getent', 'hosts', 'db.demonet']],
    ['dig +short db (UDP)', [...dig, '+short', 'db']],
    ['dig +short +tcp database', [...dig, '+short', '+tcp', 'database']],
    [`dig +short -x ${dbIp}`, [...dig, '+short', '-x', dbIp]],
    ['dig db AAAA (NODATA: a known name never leaks upstream)', ['sh', '-c', `${dig.join(' ')} db AAAA | grep -E "status:|ANSWER:"`]],
    [`dig +short www.example.demo (forwarded to ${upstream.address})`, [...dig, '+short', 'www.example.demo']],
    ['dig +short www.example.demo (again: from the cache)', [...dig, '+short', 'www.example.demo']],
    ['dig nosuch.demo (NXDOMAIN relayed from the upstream)', ['sh', '-c', `${dig.join(' ')} nosuch.demo | grep -E "status:"`]],
  ];
  let ok = true;
  print('');
  print('From inside web (ip netns exec ... through 127.0.0.11):');
  for (const [label, argv] of steps) {
    const out = await runIn(web, argv);
    if (out.startsWith('FAILED')) ok = false;
    print(`  $ ${label}`);
    for (const line of out.split('\n')) print(`      ${line}`);
  }
  print(`  (the upstream saw ${upstream.count()} queries: www.example.demo once, thanks to the cache, and nosuch.demo)`);
  return ok;
}

/** Run the demo; returns the process exit code. */
export async function runDemo(options: { logLevel?: string } = {}): Promise<number> {
  if (process.getuid?.() !== 0) {
    print('sandns demo needs root (it creates network namespaces, a bridge and veths).');
    return 1;
  }
  const dir = await mkdtemp(join(tmpdir(), 'sandns-demo-'));
  const upstream = await startDemoUpstream({ 'www.example.demo': '192.0.2.80' });
  const origin = join(dir, 'resolv.conf');
  await writeFile(origin, `# sandns demo: its own loopback upstream only\nnameserver ${upstream.address}\n`);
  const controller = createController({ logger: createLogger({ level: options.logLevel ?? 'error' }), originResolvConf: origin, firewall: false });
  const teardown = async (): Promise<void> => {
    await controller.destroyAll();
    await controller.close();
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    print(`\n${sig}: tearing down...`);
    void teardown().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let ok = false;
  try {
    const net = await controller.newNetwork('bridge', 'demonet', {});
    print(`network demonet: bridge on ${net.pool4.subnet}, gateway ${net.pool4.gateway}`);
    const netns = await createSandboxes(controller, net, `${process.pid % 100000}`);
    ok = await resolveFromWeb(netns.web!, net.endpoint('db')!.ipv4, upstream);
    print('');
    printRecords(controller);
  } catch (err) {
    print(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await teardown();
    print('');
    print('torn down: namespaces, bridge, veths, files and the demo upstream removed.');
  }
  return ok ? 0 : 1;
}
