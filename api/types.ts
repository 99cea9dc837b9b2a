/**
 * Types of the API routes (L1 over HTTP/JSON). The routes own the narrow
 * interfaces they use (G2); Controller, Network, Endpoint and Sandbox satisfy
 * them, and unit tests pass fakes.
 */
import type { Logger } from '../common/log.js';
import type { EndpointOptions, LinkState, NetworkInfo, NetworkOptions, SandboxInfo, SandboxOptions } from '../controller/index.js';

/** One endpoint, as the routes use it (the consumer owns the interface, G2). */
export interface ApiEndpoint {
  readonly id: string;
  readonly name: string;
  readonly aliases: readonly string[];
  readonly ipv4: string;
  readonly ipv6: string | undefined;
  readonly network: { readonly name: string };
  readonly sandbox: { readonly id: string; readonly hostname?: string | undefined } | undefined;
  readonly joinInfo: { readonly ifname: string; readonly mac?: string; readonly hostIfname?: string } | undefined;
  /** Settles when the connect that made it answers (Endpoint.provisional); undefined once it has. */
  readonly provisional?: Promise<void> | undefined;
  /** Exposed ports (published ones included): the SRV names it answers for (R7). */
  readonly ports?: readonly { readonly port: number; readonly proto: 'tcp' | 'udp' }[];
  /** Published ports with their host ports. */
  readonly portMappings?: readonly { readonly hostIp?: string | undefined; readonly hostPort: number; readonly containerPort: number; readonly protocol: string }[];
  join(sandbox: ApiSandbox, options?: { priority?: number; ifname?: string }): Promise<void>;
  /** Leave its sandbox (refusable: see Endpoint.disconnect) and be deleted. */
  disconnect(): Promise<void>;
  delete(): Promise<void>;
}

/** One network, as the routes use it. */
export interface ApiNetwork {
  readonly id: string;
  readonly name: string;
  readonly ttl: number;
  readonly endpoints: ReadonlyMap<string, ApiEndpoint>;
  readonly records: {
    entries(): readonly { name: string; endpointId: string; v4: readonly string[]; v6: readonly string[] }[];
    lookupReverse(ip: string): string | undefined;
  };
  info(): NetworkInfo;
  /** What its create had to say (POST /networks answers them as `warnings`); absent or empty: nothing. */
  readonly createWarnings?: readonly string[];
  createEndpoint(name: string, options?: EndpointOptions): Promise<ApiEndpoint>;
  /** createEndpoint (joinedOnly) + join as one operation, undone on failure (Network.connect). */
  connect(sandbox: ApiSandbox, name: string, options?: EndpointOptions, joinOptions?: { priority?: number; ifname?: string }): Promise<ApiEndpoint>;
  delete(): Promise<void>;
}

/** One sandbox, as the routes use it. */
export interface ApiSandbox {
  readonly id: string;
  readonly hostname?: string | undefined;
  readonly netnsPath: string;
  readonly endpoints: ReadonlyMap<string, ApiEndpoint>;
  info(): SandboxInfo;
  delete(): Promise<void>;
  linkProblems(): Promise<LinkState[]>;
}

/** The controller, as the routes use it (Controller satisfies it). */
export interface ApiController {
  networks(): ApiNetwork[];
  network(ref: string): ApiNetwork;
  sandboxes(): ApiSandbox[];
  sandbox(id: string): ApiSandbox;
  newNetwork(driver: string, name: string, options?: NetworkOptions): Promise<ApiNetwork>;
  newSandbox(id: string, options?: SandboxOptions): Promise<ApiSandbox>;
  /** Interface counters of a sandbox's joined endpoints, seen from inside. */
  stats(sandbox: ApiSandbox): Promise<{ network: string; ifname: string; counters: object }[]>;
  /** Resolves once every change so far is on disk: a mutation is answered only after it (L6). Throws ERR_STORE_WRITE_FAILED. */
  persisted?(): Promise<void>;
  /** Throws ERR_STORE_DEGRADED while the state cannot be written: mutations are refused before they start (L6). */
  assertWritable?(): void;
}

/** What the routes need from the world (G12). */
export interface RouteDeps {
  readonly controller: ApiController;
  readonly logger: Logger;
  /** Ask the sandbox's own listener from inside its namespace (`dig @127.0.0.11`). */
  readonly probe?: (sandbox: ApiSandbox, question: { name: string; type: string; tcp: boolean }) => Promise<unknown>;
  /** Why the resolver answers what it answers (resolver explain()); `reply` is the probe's, when one ran. */
  readonly explain?: (sandbox: ApiSandbox, question: { name: string; type: string }, reply?: unknown) => unknown;
  /** Prometheus text exposition of every metric (R16). */
  readonly metrics?: () => string | Promise<string>;
  /** The cluster store's status (GET /cluster), undefined on a single host. */
  readonly cluster?: () => Record<string, unknown> | undefined;
  /** Extra fields for /healthz (pid, uptime ...). */
  readonly health?: () => Record<string, unknown>;
  /** Late keys of `external` sandboxes (OCI hook): set the namespace, release it. */
  readonly keys?: {
    set(sandbox: ApiSandbox, netnsPath: string): Promise<void>;
    release(sandbox: ApiSandbox): Promise<void>;
  };
}

/** A parsed request. */
export interface ApiRequest {
  readonly method: string;
  /** Path without the query string, as sent: still %-encoded, never normalised (path.ts parseTarget). */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Parsed JSON body; undefined when empty. */
  readonly body: unknown;
}

/** A response: JSON unless `text` is set. */
export interface ApiResponse {
  readonly status: number;
  readonly body?: unknown;
  /** Plain-text body (Prometheus exposition). */
  readonly text?: string;
  /** Extra response header fields (`allow` of a 405 or an OPTIONS answer). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** One row of `GET /records`: a name's address, or an address's PTR. */
export interface RecordRow {
  network: string;
  name: string;
  /** SRV rows name `_port._proto.name` for each exposed port (R7), with value `0 0 <port> <target>.`. */
  type: 'A' | 'AAAA' | 'PTR' | 'SRV';
  value: string;
  ttl: number;
  endpoint: string;
  sandbox?: string;
  /** What the name is to its endpoint: container name, alias, hostname or short id. */
  kind?: 'name' | 'alias' | 'hostname' | 'id';
}
