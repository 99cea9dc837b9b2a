/**
 * A fake controller for the route tests: real RecordTables and the real
 * controller errors, no namespaces. Records every call it gets.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { RecordTable } from '../../../resolver/index.js';
import {
  AlreadyOnNetworkError, EndpointAlreadyJoinedError, NetworkExistsError, NetworkNotFoundError, SandboxNotFoundError,
  type NetworkInfo, type NetworkOptions, type SandboxInfo, type SandboxOptions, type EndpointOptions,
} from '../../../controller/index.js';
import type { ApiController, ApiEndpoint, ApiNetwork, ApiSandbox } from '../../../api/index.js';
import type { Logger } from '../../../common/log.js';

/** A log sink: every line logged, parsed. */
export function sinkLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A fake endpoint. */
export class FakeEndpoint implements ApiEndpoint {
  readonly id: string;
  sandbox: FakeSandbox | undefined;
  joinInfo: { ifname: string } | undefined;
  ports: { port: number; proto: 'tcp' | 'udp' }[] = [];
  constructor(readonly network: FakeNetwork, readonly name: string, readonly aliases: string[], readonly ipv4: string, readonly ipv6: string | undefined) {
    this.id = `ep-${name}-${network.name}`;
  }
  async join(sb: FakeSandbox, options: { ifname?: string } = {}): Promise<void> {
    if (this.sandbox) throw new EndpointAlreadyJoinedError(this.name, this.sandbox.id);
    this.network.log.push(`join ${this.name}`);
    this.sandbox = sb;
    sb.endpoints.set(this.id, this);
    await tick(this.network.joinDelayMs);
    if (this.network.failJoin) {
      this.sandbox = undefined;
      sb.endpoints.delete(this.id);
      throw new Error('driver exploded');
    }
    this.joinInfo = { ifname: options.ifname ?? 'eth0' };
    this.network.records.addEndpoint({ endpointId: this.id, names: [this.name, ...this.aliases, sb.hostname], ipv4: this.ipv4, ipv6: this.ipv6 });
  }
  async leave(sb: FakeSandbox): Promise<void> {
    this.network.log.push(`leave ${this.name}`);
    this.network.records.removeEndpoint(this.id);
    sb.endpoints.delete(this.id);
    this.sandbox = undefined;
    this.joinInfo = undefined;
  }
  async disconnect(): Promise<void> {
    if (this.sandbox !== undefined) await this.leave(this.sandbox);
    await this.delete();
  }
  async delete(): Promise<void> {
    this.network.log.push(`delete ${this.name}`);
    this.network.endpoints.delete(this.id);
  }
}

/** A fake network. */
export class FakeNetwork implements ApiNetwork {
  readonly id: string;
  readonly ttl = 600;
  readonly endpoints = new Map<string, FakeEndpoint>();
  readonly records: RecordTable;
  readonly log: string[] = [];
  failJoin = false;
  joinDelayMs = 0;
  #next = 2;
  constructor(readonly name: string, readonly options: NetworkOptions, readonly v6 = false) {
    this.id = `${name}-id`.padEnd(64, '0');
    this.records = new RecordTable(name);
  }
  info(): NetworkInfo {
    return {
      id: this.id, name: this.name, driver: 'bridge', subnet: '10.9.0.0/24', gateway: '10.9.0.1', internal: false, scope: this.options.scope ?? 'local', ttl: this.ttl, driverOptions: {},
      endpoints: [...this.endpoints.values()].map((e) => ({ id: e.id, name: e.name, ipv4: e.ipv4, ...(e.sandbox ? { sandbox: e.sandbox.id } : {}), ports: [], exposed: [], aliases: [...e.aliases] })),
    };
  }
  async createEndpoint(name: string, o: EndpointOptions = {}): Promise<FakeEndpoint> {
    this.log.push(`create ${name} ${JSON.stringify(o)}`);
    const ep = new FakeEndpoint(this, name, [...(o.aliases ?? [])], o.ip ?? `10.9.0.${this.#next++}`, this.v6 ? `fd00::${this.#next}` : undefined);
    this.endpoints.set(ep.id, ep);
    return ep;
  }
  /** As Network.connect: refused when the sandbox is on this network, else create (joinedOnly) + join, deleted again on failure. */
  async connect(sb: FakeSandbox, name: string, o: EndpointOptions = {}, j: { priority?: number; ifname?: string } = {}): Promise<FakeEndpoint> {
    if ([...sb.endpoints.values()].some((e) => e.network === this)) throw new AlreadyOnNetworkError(sb.id, this.name);
    const ep = await this.createEndpoint(name, { ...o, joinedOnly: true });
    try {
      await ep.join(sb, j);
    } catch (err) {
      await ep.delete();
      throw err;
    }
    return ep;
  }
  async delete(): Promise<void> {
    this.log.push('delete network');
  }
}

/** A fake sandbox. */
export class FakeSandbox implements ApiSandbox {
  readonly endpoints = new Map<string, FakeEndpoint>();
  readonly netnsPath: string;
  readonly hostname: string;
  deleted = false;
  constructor(readonly id: string, readonly options: SandboxOptions) {
    // An external sandbox has no namespace ('') until its key is set, as Sandbox.netnsPath.
    this.netnsPath = options.netnsPath ?? (options.external === true ? '' : `/run/netns/${id}`);
    this.hostname = options.hostname ?? id.slice(0, 12);
  }
  info(): SandboxInfo {
    return {
      id: this.id, hostname: this.hostname, netnsPath: this.netnsPath, keyMode: 'owned', hostsPath: '/h', resolvConfPath: '/r',
      listening: this.endpoints.size > 0, disableResolution: false, dns: [], dnsSearch: [], dnsOptions: [], extraHosts: [], extServers: [],
      endpoints: [...this.endpoints.values()].map((e) => ({ id: e.id, name: e.name, network: e.network.name, aliases: e.aliases, ipv4: e.ipv4, ports: [], exposed: [] })),
    };
  }
  async delete(): Promise<void> {
    this.deleted = true;
  }
  async linkProblems(): Promise<{ network: string; ifname: string; problems: string[] }[]> {
    return [...this.endpoints.values()].map((e) => ({ network: e.network.name, ifname: e.joinInfo?.ifname ?? '', problems: [] }));
  }
}

/** A fake controller. */
export class FakeController implements ApiController {
  readonly nets = new Map<string, FakeNetwork>();
  readonly sbs = new Map<string, FakeSandbox>();
  networks(): FakeNetwork[] {
    return [...this.nets.values()];
  }
  network(ref: string): FakeNetwork {
    const n = this.nets.get(ref);
    if (!n) throw new NetworkNotFoundError(ref);
    return n;
  }
  sandboxes(): FakeSandbox[] {
    return [...this.sbs.values()];
  }
  sandbox(id: string): FakeSandbox {
    const s = this.sbs.get(id);
    if (!s) throw new SandboxNotFoundError(id);
    return s;
  }
  async newNetwork(_driver: string, name: string, options: NetworkOptions = {}): Promise<FakeNetwork> {
    if (this.nets.has(name)) throw new NetworkExistsError(name);
    const n = new FakeNetwork(name, options, options.subnet6 !== undefined);
    this.nets.set(name, n);
    return n;
  }
  async newSandbox(id: string, options: SandboxOptions = {}): Promise<FakeSandbox> {
    const s = new FakeSandbox(id, options);
    this.sbs.set(id, s);
    return s;
  }
  async stats(sb: FakeSandbox): Promise<{ network: string; ifname: string; counters: object }[]> {
    return [...sb.endpoints.values()].map((e) => ({ network: e.network.name, ifname: 'eth0', counters: { rxBytes: 1, rxPackets: 1, rxErrors: 0, rxDropped: 0, txBytes: 2, txPackets: 2, txErrors: 0, txDropped: 0 } }));
  }
}
