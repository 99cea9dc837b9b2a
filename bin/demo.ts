/**
 * `sandns demo`: three sandboxes on one bridge network resolve each other by
 * name through 127.0.0.11 with real clients (glibc's getent, dig), then
 * everything is torn down, even on Ctrl-C or error. Nothing is forwarded to
 * the machine's own resolver: the origin resolv.conf is a file of the demo's
 * own that names no server.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { createController, type Controller } from '../controller/index.js';
import { createLogger } from '../common/log.js';

interface Step {
  label: string;
  argv: string[];
}

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

/** Run the demo; returns the process exit code. */
export async function runDemo(options: { logLevel?: string } = {}): Promise<number> {
  if (process.getuid?.() !== 0) {
    print('sandns demo needs root (it creates network namespaces, a bridge and veths).');
    return 1;
  }
  const tag = `${process.pid % 100000}`;
  const dir = await mkdtemp(join(tmpdir(), 'sandns-demo-'));
  const origin = join(dir, 'resolv.conf');
  await writeFile(origin, '# sandns demo: no upstream servers (nothing leaves this machine)\nsearch demo.internal\n');
  const controller = createController({
    logger: createLogger({ level: options.logLevel ?? 'warn' }),
    originResolvConf: origin,
  });
  let failed = false;
  const teardown = async (): Promise<void> => {
    await controller.destroyAll();
    await controller.close();
    await rm(dir, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    print(`\n${sig}: tearing down...`);
    void teardown().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const net = await controller.newNetwork('bridge', 'demonet', {});
    print(`network demonet: bridge on ${net.pool4.subnet}, gateway ${net.pool4.gateway}`);
    const names = ['web', 'db', 'cache'];
    const netns: Record<string, string> = {};
    for (const name of names) {
      netns[name] = `sdemo${tag}-${name}`;
      const sb = await controller.newSandbox(name, { hostname: name, netnsName: netns[name] });
      const ep = await net.createEndpoint(name, name === 'db' ? { aliases: ['database'] } : {});
      await ep.join(sb);
      print(`sandbox ${name.padEnd(5)}: netns ${netns[name]}, eth0 ${ep.ipv4}${ep.aliases.length ? `, aliases ${ep.aliases.join(',')}` : ''}`);
    }
    const dbIp = net.endpoint('db')!.ipv4;
    const web = netns.web!;
    const steps: Step[] = [
      { label: 'getent hosts db', argv: ['getent', 'hosts', 'db'] },
      { label: 'getent hosts database', argv: ['getent', 'hosts', 'database'] },
      { label: 'getent hosts cache', argv: ['getent', 'hosts', 'cache'] },
      { label: 'getent hosts db.demonet', argv: ['getent', 'hosts', 'db.demonet'] },
      { label: 'dig +short db (UDP)', argv: ['dig', '+short', '+time=2', '+tries=1', '@127.0.0.11', 'db'] },
      { label: 'dig +short +tcp database', argv: ['dig', '+short', '+tcp', '+time=2', '+tries=1', '@127.0.0.11', 'database'] },
      { label: `dig +short -x ${dbIp}`, argv: ['dig', '+short', '+time=2', '+tries=1', '@127.0.0.11', '-x', dbIp] },
      { label: 'dig db AAAA (NODATA)', argv: ['sh', '-c', 'dig +time=2 +tries=1 @127.0.0.11 db AAAA | grep -E "status:|ANSWER:"'] },
    ];
    print('');
    print('From inside web (ip netns exec ... through 127.0.0.11):');
    for (const s of steps) {
      const out = await runIn(web, s.argv);
      if (out.startsWith('FAILED')) failed = true;
      print(`  $ ${s.label}`);
      for (const line of out.split('\n')) print(`      ${line}`);
    }
    print('');
    printRecords(controller);
  } catch (err) {
    failed = true;
    print(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await teardown();
    print('');
    print('torn down: namespaces, bridge, veths and files removed.');
  }
  return failed ? 1 : 0;
}
