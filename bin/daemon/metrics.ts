/**
 * `GET /metrics` (R16): every sandbox's resolver counters (resolver
 * renderPrometheus) plus the daemon's own: objects it manages and API
 * requests by route and status.
 */
import { renderPrometheus, type ResolverMetrics } from '../../controller/index.js';
import type { Controller } from '../../controller/index.js';
import { routePattern } from '../../api/index.js';

/**
 * Route label of a request: the pattern of the route that served it
 * (`/networks/:name/connect`), `other` when none did (404, 405, a bad path).
 * Only the route table's patterns can appear, so the label set is bounded
 * whatever paths clients send (R16).
 */
export function routeLabel(method: string, path: string): string {
  return routePattern(method, path) ?? 'other';
}

/** Methods counted under their own name; any other is `other` (node:http accepts some 30 methods). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/** API request counters. */
export class ApiMetrics {
  readonly #requests = new Map<string, number>();

  /** Count one served request. */
  observe(method: string, path: string, status: number): void {
    const key = `method="${METHODS.has(method) ? method : 'other'}",route="${routeLabel(method, path)}",status="${status}"`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
  }

  /** Prometheus text of the counters. */
  render(): string {
    const lines = ['# HELP sandns_api_requests_total API requests by method, route and HTTP status.', '# TYPE sandns_api_requests_total counter'];
    for (const [k, v] of this.#requests) lines.push(`sandns_api_requests_total{${k}} ${v}`);
    return `${lines.join('\n')}\n`;
  }
}

const COUNTERS = [
  ['rxBytes', 'receive_bytes', 'Bytes received'], ['rxPackets', 'receive_packets', 'Packets received'],
  ['rxErrors', 'receive_errors', 'Receive errors'], ['rxDropped', 'receive_dropped', 'Received packets dropped'],
  ['txBytes', 'transmit_bytes', 'Bytes transmitted'], ['txPackets', 'transmit_packets', 'Packets transmitted'],
  ['txErrors', 'transmit_errors', 'Transmit errors'], ['txDropped', 'transmit_dropped', 'Transmitted packets dropped'],
] as const;

/**
 * Interface counters of every joined endpoint, seen from inside its sandbox (libcontainer NetworkStats), and published
 * ports. The counters come from one allStats() call: one host link dump per scrape, whatever the number of sandboxes;
 * when it fails, the scrape has no interface rows.
 */
export async function renderInterfaceMetrics(controller: Pick<Controller, 'allStats' | 'networks'>): Promise<string> {
  const rows: { labels: string; c: Record<string, number> }[] = [];
  for (const [id, list] of await controller.allStats().catch(() => new Map<string, never[]>())) {
    for (const s of list) {
      rows.push({ labels: `sandbox=${JSON.stringify(id)},network=${JSON.stringify(s.network)},interface=${JSON.stringify(s.ifname)}`, c: { ...s.counters } });
    }
  }
  const out = COUNTERS.map(([key, name, help]) => {
    const metric = `sandns_interface_${name}_total`;
    return `# HELP ${metric} ${help} by a sandbox interface.\n# TYPE ${metric} counter\n${rows.map((r) => `${metric}{${r.labels}} ${r.c[key]}\n`).join('')}`;
  });
  const published = controller.networks().reduce((n, net) => n + [...net.endpoints.values()].reduce((k, e) => k + e.portMappings.length, 0), 0);
  return `${out.join('')}# HELP sandns_published_ports Published ports (host port mappings).\n# TYPE sandns_published_ports gauge\nsandns_published_ports ${published}\n`;
}

/** The whole exposition. */
export async function renderAllMetrics(controller: Controller, api: ApiMetrics): Promise<string> {
  return renderMetrics(controller, api) + (await renderInterfaceMetrics(controller));
}

/** The exposition without interface counters (synchronous). */
export function renderMetrics(controller: Controller, api: ApiMetrics): string {
  const sandboxes = controller.sandboxes();
  const endpoints = controller.networks().reduce((n, net) => n + net.endpoints.size, 0);
  const gauges = [
    ['sandns_networks', 'Networks.', controller.networks().length],
    ['sandns_sandboxes', 'Sandboxes.', sandboxes.length],
    ['sandns_endpoints', 'Endpoints.', endpoints],
    ['sandns_listeners', 'Sandboxes whose 127.0.0.11 listener is serving.', sandboxes.filter((s) => s.listening).length],
  ] as const;
  const own = gauges.map(([n, h, v]) => `# HELP ${n} ${h}\n# TYPE ${n} gauge\n${n} ${v}\n`).join('');
  const resolvers = sandboxes.map((s) => s.metrics).filter((m): m is ResolverMetrics => m !== undefined);
  return own + api.render() + renderPrometheus(resolvers);
}

/**
 * `fn`, run at most once at a time: a call while one is in flight gets that
 * run's result (a scrape does a host link dump and walks every sandbox, so
 * scrapers piling up must not multiply it); the next call after it settles
 * runs `fn` again.
 */
export function singleFlight<T>(fn: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= fn().finally(() => {
      running = undefined;
    });
    return running;
  };
}
