/**
 * Managed /etc/resolv.conf (C1-C5; as Docker): the public door (G1).
 * Pure parse/override/transform/render; io/ reads, writes and watches files.
 */
import { InvalidOptionError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { pathExists, readTextIfExists } from './io/resolvconf-file.js';
import { watchFileText, type FileWatch } from './io/watch.js';
import { directivesKey, emptyResolvConf, parseResolvConf, type ResolvConf } from './parse.js';

export {
  parseResolvConf,
  type ResolvConf,
  type ExtServer,
  type NdotsSource,
  type Overridden,
  type TransformKind,
} from './parse.js';
export { applyOverrides, type ResolvConfOverrides } from './override.js';
export {
  transformForInternalResolver,
  transformForLegacy,
  type InternalResolverOptions,
  type InternalResolverResult,
  type LegacyResolvConf,
} from './transform.js';
export { renderResolvConf, SANDNS_HEADER, type RenderResolvConfOptions } from './render.js';
export {
  digestTempPath,
  isUserModified,
  writeResolvConfText as writeResolvConf,
  type WriteResolvConfOptions,
} from './io/resolvconf-file.js';
export type { FileWatch as ResolvConfWatch } from './io/watch.js';

/** Load and parse a resolv.conf; a missing file is an empty one (as Docker). */
export async function loadResolvConf(path: string): Promise<ResolvConf> {
  const text = await readTextIfExists(path);
  return text === undefined ? emptyResolvConf(path) : parseResolvConf(text, path);
}

/**
 * The host's origin file: the systemd-resolved upstream file
 * when /etc/resolv.conf's only nameserver is the 127.0.0.53 stub and that file exists.
 */
export async function hostOriginPath(
  etcResolvConf = '/etc/resolv.conf',
  systemdPath = '/run/systemd/resolve/resolv.conf',
): Promise<string> {
  const conf = await loadResolvConf(etcResolvConf);
  const onlyStub = conf.nameservers.length === 1 && conf.nameservers[0] === '127.0.0.53';
  return onlyStub && (await pathExists(systemdPath)) ? systemdPath : etcResolvConf;
}

/** Options of watchResolvConf. */
export interface WatchResolvConfOptions {
  /** Quiet time that coalesces a burst of changes (default 100 ms). */
  debounceMs?: number;
  /** Period of the stat fallback that catches missed events (default 1000 ms). */
  pollMs?: number;
  /** Where watch problems are logged. */
  logger: Logger;
}

/** Normalise the watch options once (G9). */
function normalizeWatchOptions(raw: WatchResolvConfOptions): Required<WatchResolvConfOptions> {
  const { debounceMs = 100, pollMs = 1000, logger } = raw;
  if (!Number.isFinite(debounceMs) || debounceMs < 0) {
    throw new InvalidOptionError('debounceMs', 'must be a finite number >= 0');
  }
  if (!Number.isFinite(pollMs) || pollMs < 10) throw new InvalidOptionError('pollMs', 'must be a finite number >= 10');
  return { debounceMs, pollMs, logger };
}

/**
 * Watch a resolv.conf (C5): `onChange` gets the new parsed value each time its
 * directives change (not on the first read, not for a rewrite with the same
 * content); a burst of writes gives one call. A missing file parses as empty.
 */
export function watchResolvConf(
  path: string,
  onChange: (conf: ResolvConf) => void,
  options: WatchResolvConfOptions,
): FileWatch {
  const opts = normalizeWatchOptions(options);
  let lastKey: string | undefined;
  return watchFileText(
    path,
    (text, initial) => {
      let conf: ResolvConf;
      try {
        conf = parseResolvConf(text ?? '', path);
      } catch (err) {
        opts.logger.warn({ err, path }, 'cannot parse watched resolv.conf; change ignored');
        return;
      }
      const key = directivesKey(conf);
      const changed = !initial && key !== lastKey;
      lastKey = key;
      if (changed) onChange(conf);
    },
    opts,
  );
}
