/**
 * Network filters of `GET /networks` and `POST /networks/prune` (Docker's
 * `network ls --filter` and `network prune --filter`), pure, with Docker's
 * semantics (moby's filters.Args and daemon prune) except where said.
 *
 * Wire form (Docker Engine API): the query parameter `filters` holds a JSON
 * object whose keys are filter names and whose values are a list of strings
 * (`{"label":["tier=db"],"driver":["bridge"]}`) or, as the Docker CLI sends
 * it, an object of string → true (`{"label":{"tier=db":true}}`); absent or
 * empty: no filter. Different keys must all match.
 *
 * Matching:
 *  - `name`, `id`: any value is part of the network's name / id (Docker takes
 *    a regular expression; a substring cannot be made to backtrack for seconds);
 *  - `driver`: any value is equal; `scope`: any of `local`, `global`, `swarm`
 *    is equal (no sandns network is `swarm`);
 *  - `type`: `custom` (every sandns network) or `builtin` (none: sandns has no
 *    predefined networks);
 *  - `label`: EVERY value holds: `KEY` (the network has the label) or
 *    `KEY=VALUE` (with that value), as Docker's MatchKVList;
 *  - `dangling` (one value): `true` / `1` = no endpoints, `false` / `0` = some;
 *  - prune only: `label!` drops a network for which every value holds (as
 *    Docker's prune), `until` (one value) keeps networks made before a time:
 *    Unix seconds, an RFC 3339 date or date-time (UTC when it gives no offset;
 *    Docker takes the daemon's local time), or a duration back from now such as
 *    `90m` or `1h30m` (units h m s ms us ns). A network whose creation time is
 *    unknown (recorded before sandns kept it) is never older.
 *
 * Errors: ERR_INVALID_OPTION (400) naming `filters` for malformed JSON, an
 * unknown key, or a value of the wrong kind or number.
 */
import { InvalidOptionError } from '../common/errors.js';
import type { NetworkInfo } from '../controller/index.js';

/** Filter name → its values (alternatives). */
export type NetworkFilters = ReadonlyMap<string, readonly string[]>;

/** The keys `GET /networks` takes. */
export const LIST_FILTERS = ['name', 'id', 'driver', 'scope', 'type', 'label', 'dangling'] as const;
/** The keys `POST /networks/prune` takes (Docker's prune filters). */
export const PRUNE_FILTERS = ['label', 'label!', 'until'] as const;

const bad = (message: string): InvalidOptionError => new InvalidOptionError('filters', message);

/** Parse the `filters` query values (at most one), allowing only `keys`. An absent parameter is no filter. */
export function parseNetworkFilters(values: readonly string[], keys: readonly string[], now = Date.now()): NetworkFilters {
  if (values.length === 0 || (values.length === 1 && values[0] === '')) return new Map();
  if (values.length > 1) throw bad('give the filters parameter once, as one JSON object');
  let json: unknown;
  try {
    json = JSON.parse(values[0]!);
  } catch {
    throw bad('must be a JSON object such as {"label":["tier=db"]}');
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw bad('must be a JSON object such as {"label":["tier=db"]}');
  const out = new Map<string, string[]>();
  for (const [key, raw] of Object.entries(json as Record<string, unknown>)) {
    if (!keys.includes(key)) throw bad(`unknown filter ${JSON.stringify(key.slice(0, 40))}: this request takes ${keys.join(', ')}`);
    const list = listOf(key, raw);
    if ((key === 'dangling' || key === 'until') && list.length > 1) throw bad(`give ${key} once, not ${list.length} times`);
    for (const v of list) checkValue(key, v, now);
    if (list.length > 0) out.set(key, list);
  }
  return out;
}

function listOf(key: string, raw: unknown): string[] {
  if (Array.isArray(raw) && raw.every((v) => typeof v === 'string')) return raw as string[];
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && Object.values(raw).every((v) => v === true)) return Object.keys(raw);
  throw bad(`the values of ${key} must be a list of strings (or an object of string: true)`);
}

function checkValue(key: string, v: string, now: number): void {
  if (key === 'type' && v !== 'custom' && v !== 'builtin') throw bad(`type must be custom or builtin, not ${JSON.stringify(v.slice(0, 40))}`);
  if (key === 'scope' && !SCOPES.has(v)) throw bad(`scope must be local, global or swarm, not ${JSON.stringify(v.slice(0, 40))}`);
  if (key === 'dangling' && !DANGLING.has(v)) throw bad(`dangling must be true, false, 1 or 0, not ${JSON.stringify(v.slice(0, 40))}`);
  if ((key === 'label' || key === 'label!') && (v === '' || v.startsWith('='))) throw bad(`${key} needs KEY or KEY=VALUE, not ${JSON.stringify(v.slice(0, 40))}`);
  if (key === 'until') untilTime(v, now);
}

const SCOPES = new Set(['local', 'global', 'swarm']);
const DANGLING = new Map([['true', true], ['1', true], ['false', false], ['0', false]]);

/** Go's duration units (time.ParseDuration), in milliseconds. */
const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000_001 };
const DURATION = /^(\d+(?:\.\d+)?(?:h|ms|m|s|us|µs|ns))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** An `until` value as milliseconds since the epoch (see the module's comment); throws for anything else. */
export function untilTime(v: string, now: number): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  if (DURATION.test(v)) {
    let ms = 0;
    for (const [, n, unit] of v.matchAll(DURATION_PART)) ms += Number(n) * UNIT_MS[unit!]!;
    return now - ms;
  }
  const m = RFC3339.exec(v);
  // No offset: UTC (Date.parse would take a date-time without one as the daemon's local time).
  const t = m === null ? Number.NaN : Date.parse(m[4] === undefined || m[7] !== undefined ? v : `${v}Z`);
  // A day the month does not have (2024-02-30) is refused, not carried into the next month.
  const day = m === null || Number.isNaN(t) ? undefined : new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  if (day === undefined || day.getUTCDate() !== Number(m![3]) || day.getUTCMonth() !== Number(m![2]) - 1) {
    throw bad(`until must be Unix seconds, an RFC 3339 time or a duration such as 24h, not ${JSON.stringify(v.slice(0, 40))}`);
  }
  return t;
}

/** Whether `labels` has `spec` (`KEY` or `KEY=VALUE`). */
function hasLabel(labels: Readonly<Record<string, string>>, spec: string): boolean {
  const eq = spec.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, spec);
  const key = spec.slice(0, eq);
  return Object.hasOwn(labels, key) && labels[key] === spec.slice(eq + 1);
}

/** Whether the network (its inspect form) passes every filter. `now`: for `until` durations. */
export function networkMatches(n: NetworkInfo, filters: NetworkFilters, now = Date.now()): boolean {
  const labels = n.labels ?? {};
  for (const [key, values] of filters) {
    const any = (test: (v: string) => boolean): boolean => values.some(test);
    let pass: boolean;
    switch (key) {
      case 'name': pass = any((v) => n.name.includes(v)); break;
      case 'id': pass = any((v) => n.id.includes(v)); break;
      case 'driver': pass = any((v) => n.driver === v); break;
      case 'scope': pass = any((v) => n.scope === v); break;
      case 'type': pass = any((v) => v === 'custom'); break;
      case 'dangling': pass = any((v) => DANGLING.get(v) === (n.endpoints.length === 0)); break;
      case 'label': pass = values.every((v) => hasLabel(labels, v)); break;
      case 'label!': pass = !values.every((v) => hasLabel(labels, v)); break;
      case 'until': {
        const made = n.created === undefined ? Number.NaN : Date.parse(n.created);
        pass = !Number.isNaN(made) && any((v) => made < untilTime(v, now));
        break;
      }
      default: pass = false;
    }
    if (!pass) return false;
  }
  return true;
}
