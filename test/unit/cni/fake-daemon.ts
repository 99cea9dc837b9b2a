/**
 * An in-memory daemon API for the plugin's unit tests: the routes the plugin
 * uses, with the daemon's status codes and error codes. `down` makes every
 * request fail as an unreachable socket does.
 */
import { hostnameProblem } from '../../../common/dns-name.js';
import { parseCidr } from '../../../common/ip.js';
import type { ApiAnswer, DaemonApi } from '../../../cni/daemon.js';
import type { DeferredStore } from '../../../cni/del.js';
import { CniDaemonUnreachableError } from '../../../cni/errors.js';
import type { DeferredRecord } from '../../../cni/pending.js';

interface Ep { network: string; name: string; aliases: string[]; ipv4: string; ipv6?: string; ifname: string; mac: string; hostIfname?: string }
interface Net { id: string; name: string; driver: string; subnet: string; gateway: string; internal: boolean; ttl: number; subnet6?: string; gateway6?: string; options?: Record<string, unknown>; next: number }
interface Sb { id: string; netnsPath: string; listening: boolean; endpoints: Ep[]; body: Record<string, unknown> }

const err = (status: number, code: string, message = code): ApiAnswer => ({ status, body: { code, message } });

/** The fake. */
export class FakeDaemon implements DaemonApi {
  readonly socket = '/fake/sandns.sock';
  readonly nets = new Map<string, Net>();
  readonly sbs = new Map<string, Sb>();
  readonly calls: string[] = [];
  down = false;
  /** Break the listener answer (CHECK tests). */
  listenerAnswers = true;
  linkProblems: string[] = [];
  /** Answers (or throws) before the routes when it returns something: a failing daemon. */
  intercept: ((method: string, path: string) => ApiAnswer | undefined) | undefined;
  /** Namespace path → identity (`<dev>:<ino>`) for the plugin's namespaceIdentity; a path not here cannot be read. */
  readonly namespaces = new Map<string, string>();

  async request(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
    if (this.down) throw new CniDaemonUnreachableError(this.socket, 'no such socket (is the daemon running?)');
    this.calls.push(`${method} ${path}`);
    const forced = this.intercept?.(method, path);
    if (forced !== undefined) return forced;
    const b = (body ?? {}) as Record<string, unknown>;
    const [p, q] = path.split('?');
    const parts = p!.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] === 'networks') return this.#networks(method, parts, b);
    if (parts[0] === 'sandboxes') return this.#sandboxes(method, parts, b, new URLSearchParams(q ?? ''));
    if (parts[0] === 'records') {
      const net = new URLSearchParams(q ?? '').get('network')!;
      return { status: 200, body: [...this.sbs.values()].flatMap((s) => s.endpoints.filter((e) => e.network === net).flatMap((e) =>
        [e.name, ...e.aliases].map((name) => ({ network: net, name, type: 'A', value: e.ipv4, sandbox: s.id })))) };
    }
    return err(404, 'ERR_API_NOT_FOUND');
  }

  /** A network as the API describes it: with its endpoints. */
  #describe(net: Net): Record<string, unknown> {
    return { ...net, endpoints: [...this.sbs.values()].flatMap((s) => s.endpoints.filter((e) => e.network === net.name).map((e) => ({ name: e.name, sandbox: s.id }))) };
  }

  #networks(method: string, parts: string[], b: Record<string, unknown>): ApiAnswer {
    if (method === 'GET' && parts.length === 1) return { status: 200, body: [...this.nets.values()].map((n) => this.#describe(n)) };
    if (method === 'POST' && parts.length === 1) {
      const name = b.name as string;
      if (this.nets.has(name)) return err(409, 'ERR_NETWORK_EXISTS');
      const range = (c: string): [bigint, bigint] => {
        const x = parseCidr(c)!;
        return [x.first, x.last];
      };
      for (const other of this.nets.values()) {
        for (const [mine, theirs] of [[b.subnet as string | undefined, other.subnet], [b.subnet6 as string | undefined, other.subnet6]]) {
          if (mine === undefined || theirs === undefined || mine.includes(':') !== theirs.includes(':')) continue;
          const [x, y] = [range(mine), range(theirs)];
          if (x[0] <= y[1] && y[0] <= x[1]) return err(409, 'ERR_NETWORK_SUBNET_OVERLAP', `subnet ${mine} overlaps network ${other.name} (${theirs})`);
        }
      }
      const net: Net = {
        id: `id-${name}-${this.calls.length}`, name, driver: (b.driver as string) ?? 'bridge', subnet: (b.subnet as string) ?? '10.213.0.0/24', gateway: (b.gateway as string) ?? String(b.subnet ?? '10.213.0.0/24').replace(/0\/\d+$/, '1'),
        internal: (b.internal as boolean) ?? false, ttl: (b.ttl as number) ?? 600, next: 2,
        ...(b.subnet6 ? { subnet6: b.subnet6 as string, gateway6: (b.gateway6 as string) ?? 'fd00::1' } : {}),
        ...(b.driverOptions ? { options: b.driverOptions as Record<string, unknown> } : {}),
      };
      this.nets.set(name, net);
      return { status: 201, body: net };
    }
    // By name or id, as the daemon (controller.network).
    const net = this.nets.get(parts[1]!) ?? [...this.nets.values()].find((n) => n.id === parts[1]);
    if (net === undefined) return err(404, 'ERR_NETWORK_NOT_FOUND');
    if (method === 'GET' && parts.length === 2) return { status: 200, body: this.#describe(net) };
    if (method === 'DELETE' && parts.length === 2) {
      if ((this.#describe(net).endpoints as unknown[]).length > 0) return err(403, 'ERR_NETWORK_ACTIVE_ENDPOINTS');
      this.nets.delete(net.name);
      return { status: 200, body: {} };
    }
    const sb = this.sbs.get(b.sandbox as string);
    if (sb === undefined) return err(404, 'ERR_SANDBOX_NOT_FOUND');
    if (parts[2] === 'connect') {
      if (sb.endpoints.some((e) => e.network === net.name)) return err(409, 'ERR_SANDBOX_ALREADY_ON_NETWORK');
      const names = [b.name, ...((b.aliases as unknown[] | undefined) ?? [])];
      if (names.some((n) => typeof n !== 'string' || hostnameProblem(n) !== undefined)) return err(400, 'ERR_INVALID_NAME');
      const taken = [...this.sbs.values()].some((s) => s.endpoints.some((e) => e.network === net.name && e.name.toLowerCase() === String(b.name).toLowerCase()));
      if (taken) return err(409, 'ERR_ENDPOINT_EXISTS');
      if (b.publish !== undefined && net.driver !== 'bridge') return err(400, 'ERR_INVALID_OPTION');
      const ep: Ep = {
        network: net.name, name: b.name as string, aliases: (b.aliases as string[]) ?? [], ipv4: (b.ip as string) ?? net.subnet.replace(/0\/\d+$/, String(net.next++)),
        ...(b.ip6 ? { ipv6: b.ip6 as string } : net.subnet6 ? { ipv6: 'fd00::5' } : {}),
        ifname: b.ifname as string, mac: '02:42:0a:00:00:02', ...(net.driver === 'bridge' ? { hostIfname: 'sv0123456789ab' } : {}),
      };
      sb.endpoints.push(ep);
      sb.listening = true;
      return { status: 201, body: { ...ep, endpoint: ep.name, sandbox: sb.id } };
    }
    if (parts[2] === 'disconnect') {
      const i = sb.endpoints.findIndex((e) => e.network === net.name);
      if (i < 0) return err(404, 'ERR_ENDPOINT_NOT_FOUND');
      if (b.ifname !== undefined && sb.endpoints[i]!.ifname !== b.ifname) return err(404, 'ERR_ENDPOINT_NOT_FOUND'); // as the daemon (api/handlers.ts)
      sb.endpoints.splice(i, 1);
      return { status: 200, body: {} };
    }
    return err(404, 'ERR_API_NOT_FOUND');
  }

  #sandboxes(method: string, parts: string[], b: Record<string, unknown>, q: URLSearchParams): ApiAnswer {
    if (method === 'POST' && parts.length === 1) {
      const id = b.name as string;
      if (this.sbs.has(id)) return err(409, 'ERR_SANDBOX_EXISTS');
      const netnsPath = String(b.netnsPath).startsWith('/proc/') ? `/run/netns/sandns-${id}` : (b.netnsPath as string);
      const sb: Sb = { id, netnsPath, listening: false, endpoints: [], body: b };
      this.sbs.set(id, sb);
      return { status: 201, body: sb };
    }
    const sb = this.sbs.get(parts[1]!);
    if (sb === undefined) return err(404, 'ERR_SANDBOX_NOT_FOUND');
    if (method === 'GET' && parts.length === 2) return { status: 200, body: sb };
    if (method === 'DELETE' && parts.length === 2) {
      if (q.get('ifEmpty') === 'true' && sb.endpoints.length > 0) return err(409, 'ERR_SANDBOX_IN_USE');
      this.sbs.delete(sb.id);
      return { status: 200, body: { name: sb.id } };
    }
    if (parts[2] === 'resolve') {
      const ep = sb.endpoints.find((e) => e.name === b.name);
      const answer = ep && this.listenerAnswers ? [{ name: `${ep.name}.`, type: 'A', data: ep.ipv4 }] : [];
      return { status: 200, body: { reply: { status: answer.length > 0 ? 'NOERROR' : 'NXDOMAIN', answer } } };
    }
    if (parts[2] === 'links') return { status: 200, body: sb.endpoints.map((e) => ({ network: e.network, ifname: e.ifname, problems: this.linkProblems })) };
    return err(404, 'ERR_API_NOT_FOUND');
  }
}

/** An in-memory deferred store. */
export class FakeStore implements DeferredStore {
  readonly records = new Map<string, DeferredRecord>();
  async listFor(sandbox: string): Promise<{ key: string; record: DeferredRecord }[]> {
    return [...this.records].filter(([, r]) => r.sandbox === sandbox).map(([key, record]) => ({ key, record }));
  }
  async write(key: string, record: DeferredRecord): Promise<void> {
    this.records.set(key, record);
  }
  async remove(key: string): Promise<void> {
    this.records.delete(key);
  }
}
