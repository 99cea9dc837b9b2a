/**
 * The ResolvConf value and the parser of resolv.conf text (C1).
 * Values are immutable: every transform returns a new one (moby's
 * internal/resolvconf Parse -> Override* -> Transform -> Generate, made pure).
 */
import { parseNameserver } from './addr.js';
import { MAX_LINE_BYTES, ResolvConfLineTooLongError } from './errors.js';

/** An upstream server the internal resolver forwards to. */
export interface ExtServer {
  /** Canonical IP address (an IPv6 zone kept). */
  address: string;
  /** 'host': read from the origin file, queried from the host netns; 'sandbox': a `dns` override (R11). */
  origin: 'host' | 'sandbox';
}

/** Where the effective `ndots` option came from (as Docker writes it in the trailer). */
export type NdotsSource = 'host' | 'override' | 'internal';

/** Which transform produced the file (as Docker writes it in the trailer). */
export type TransformKind = 'none' | 'internal' | 'legacy';

/** Which lists were replaced by overrides (as Docker). */
export interface Overridden {
  readonly nameservers: boolean;
  readonly search: boolean;
  readonly options: boolean;
}

/** A parsed resolv.conf plus what the trailer comment needs (as Docker). */
export interface ResolvConf {
  /** The origin file's path, for `# Based on host file: '<path>'`. */
  readonly sourcePath: string;
  /** Valid nameservers, in order, in canonical form. */
  readonly nameservers: readonly string[];
  /** `nameserver` arguments that are not addresses; reported, never used (C1). */
  readonly invalidNameservers: readonly string[];
  /** Search domains (the last `search`/`domain` line wins). */
  readonly search: readonly string[];
  /** Options, accumulated over every `options` line. */
  readonly options: readonly string[];
  /** Unknown lines, kept verbatim and written after the options. */
  readonly other: readonly string[];
  /** Lists replaced by overrides. */
  readonly overridden: Overridden;
  /** Where ndots came from, when there is any ndots option. */
  readonly ndotsFrom: NdotsSource | undefined;
  /** Trailer warnings, one `# <warning>` line each. */
  readonly warnings: readonly string[];
  /** External servers set by the internal-resolver transform. */
  readonly extServers: readonly ExtServer[];
  /** The transform applied, if any. */
  readonly transform: TransformKind;
}

/** An empty configuration read from `sourcePath` (a missing origin file, as Docker). */
export function emptyResolvConf(sourcePath: string): ResolvConf {
  return {
    sourcePath,
    nameservers: [],
    invalidNameservers: [],
    search: [],
    options: [],
    other: [],
    overridden: { nameservers: false, search: false, options: false },
    ndotsFrom: undefined,
    warnings: [],
    extServers: [],
    transform: 'none',
  };
}

/** Whitespace as Go's strings.Fields sees it (unicode.IsSpace). */
const FIELD_SEPARATOR = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** Split a line into fields as Go's strings.Fields does. */
function fields(line: string): string[] {
  return line.split(FIELD_SEPARATOR).filter((field) => field !== '');
}

interface Lists {
  nameservers: string[];
  invalidNameservers: string[];
  search: string[];
  options: string[];
  other: string[];
}

/** Fold one line into the lists (moby processLine). */
function processLine(lists: Lists, line: string): void {
  const parts = fields(line);
  const [directive, first] = parts;
  // Blank lines and comments: '#' or ';' first on the line (C1).
  if (directive === undefined || directive.startsWith('#') || directive.startsWith(';')) return;
  if (directive === 'nameserver' || directive === 'search' || directive === 'domain' || directive === 'options') {
    if (first === undefined) return; // a known directive without argument is ignored
  }
  if (directive === 'nameserver') {
    const addr = parseNameserver(first!);
    if (addr === undefined) lists.invalidNameservers.push(first!);
    else lists.nameservers.push(addr.text);
  } else if (directive === 'search' || directive === 'domain') {
    lists.search = parts.slice(1); // 'domain' is the obsolete 'search'; the last one wins
  } else if (directive === 'options') {
    lists.options.push(...parts.slice(1)); // options accumulate
  } else {
    lists.other.push(line);
  }
}

/** Split text into lines as Go's bufio.ScanLines does (a trailing CR is dropped). */
function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

/**
 * Parse resolv.conf text read from `sourcePath` (C1). Throws
 * ERR_RESOLVCONF_LINE_TOO_LONG for a line over 64 KiB (as Docker).
 */
export function parseResolvConf(text: string, sourcePath: string): ResolvConf {
  const lists: Lists = { nameservers: [], invalidNameservers: [], search: [], options: [], other: [] };
  splitLines(text).forEach((line, index) => {
    if (line.length > MAX_LINE_BYTES / 3 && Buffer.byteLength(line) > MAX_LINE_BYTES) {
      throw new ResolvConfLineTooLongError(sourcePath, index + 1);
    }
    processLine(lists, line);
  });
  const conf: ResolvConf = { ...emptyResolvConf(sourcePath), ...lists };
  return option(conf, 'ndots') === undefined ? conf : { ...conf, ndotsFrom: 'host' };
}

/**
 * The value of the last option named `name` (as Docker): `ndots:0 edns0 ndots:1`
 * gives '1' for ndots and '' for edns0; undefined when absent.
 */
export function option(conf: Pick<ResolvConf, 'options'>, name: string): string | undefined {
  for (let i = conf.options.length - 1; i >= 0; i--) {
    const opt = conf.options[i]!;
    const colon = opt.indexOf(':');
    const key = colon < 0 ? opt : opt.slice(0, colon);
    if (key === name) return colon < 0 ? '' : opt.slice(colon + 1);
  }
  return undefined;
}

/** A key that changes exactly when the parsed directives change (C5 watch). */
export function directivesKey(conf: ResolvConf): string {
  return JSON.stringify([conf.nameservers, conf.invalidNameservers, conf.search, conf.options, conf.other]);
}
