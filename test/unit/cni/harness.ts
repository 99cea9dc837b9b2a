/**
 * What the plugin's unit tests share: the invocation environment, one run of
 * the plugin over the fake daemon (test/unit/cni/fake-daemon.ts), and the
 * main-mode and chained configurations they start from.
 */
import { runPlugin, type PluginOutcome } from '../../../cni/index.js';
import type { FakeDaemon, FakeStore } from './fake-daemon.js';

/** The container id of every invocation unless a test gives another. */
export const CID = 'f00dcafe0123456789abcdef0123456789abcdef0123456789abcdef01234567';
/** The container's namespace path unless a test gives another. */
export const NETNS = '/run/netns/netns-1234';

/** The CNI_* environment of one invocation of `command`. */
export function env(command: string, extra: Record<string, string> = {}): Record<string, string> {
  return { CNI_COMMAND: command, CNI_CONTAINERID: CID, CNI_NETNS: NETNS, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni', ...extra };
}

/** One plugin run over the fake daemon; namespace identities come from `d.namespaces` (path → `<dev>:<ino>`). */
export function run(d: FakeDaemon, store: FakeStore, e: Record<string, string>, stdin: unknown): Promise<PluginOutcome> {
  return runPlugin({ env: e, stdin: typeof stdin === 'string' ? stdin : JSON.stringify(stdin), connect: () => d, deferredStore: () => store, namespaceIdentity: async (p) => d.namespaces.get(p), now: () => new Date(0) });
}

/** The JSON on stdout. */
export const out = (o: PluginOutcome): Record<string, unknown> => JSON.parse(o.stdout) as Record<string, unknown>;

/** sandns as the main plugin. */
export const mainConf = { cniVersion: '1.0.0', name: 'cninet', type: 'sandns', subnet: '10.77.0.0/24', capabilities: { aliases: true, portMappings: true }, runtimeConfig: { aliases: { cninet: ['www', 'web'] } } };
/** A 0.4.0 bridge result for the container's eth0. */
export const prevResult = {
  cniVersion: '0.4.0',
  interfaces: [{ name: 'cni0', mac: 'aa:aa:aa:aa:aa:aa' }, { name: 'veth1', mac: 'bb:bb:bb:bb:bb:bb' }, { name: 'eth0', mac: 'cc:cc:cc:cc:cc:cc', sandbox: NETNS }],
  ips: [{ version: '4', interface: 2, address: '10.88.5.7/24', gateway: '10.88.5.1' }],
  routes: [{ dst: '0.0.0.0/0' }],
  dns: { nameservers: ['10.88.5.1'], search: ['corp.example'] },
};
/** sandns chained after bridge. */
export const chainedConf = { cniVersion: '0.4.0', name: 'chnet', type: 'sandns', prevResult, runtimeConfig: { aliases: { chnet: ['db'] } } };

