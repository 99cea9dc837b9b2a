/**
 * Who the container is to sandns: the sandbox is the container (one per
 * CNI_CONTAINERID, shared by its networks), the endpoint name is the
 * container's name. Every name made here is a valid DNS name (RFC 1123 §2.1
 * labels, '_' tolerated as the daemon's hostname rule H5 does), so a name
 * derived from the runtime's parameters never fails an ADD; docs/cni.md,
 * "Names", gives the rules and their examples.
 */
import { createHash } from 'node:crypto';

/** Sandbox ids the daemon accepts (Docker's object name rule, ≤ 64 characters). */
const SANDBOX_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

/** A generated id (podman, CRI-O, containerd's CRI: 64 hex digits): named by its first 12, as Docker's short id. */
const HEX_ID = /^[0-9a-f]{13,}$/;

/** RFC 1035 §2.3.4 and RFC 1123 §2.1: at most 63 octets per label, 253 per name (without the root's dot). */
const MAX_LABEL = 63;
const MAX_NAME = 253;

/** Characters of the unique name's suffix: `-` and 8 hex digits of the container id's digest. */
const SUFFIX = 9;

function digestOf(containerId: string): string {
  return createHash('sha256').update(containerId).digest('hex');
}

/** The sandbox id of a container: the container id itself when the daemon accepts it, else a stable digest of it. */
export function sandboxIdOf(containerId: string): string {
  if (SANDBOX_ID.test(containerId)) return containerId;
  return `cni-${digestOf(containerId).slice(0, 40)}`;
}

/** One label: characters outside [A-Za-z0-9_-] become '-', at most 63 characters, no '-' at either end; '' when nothing is left. */
function labelOf(raw: string): string {
  return raw.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, MAX_LABEL).replace(/^-+|-+$/g, '');
}

/**
 * `raw` made a valid DNS name, or '' when nothing of it is left: each
 * dot-separated label cleaned (labelOf), empty labels dropped (so no leading,
 * trailing or double dot), cut after the last whole label that fits 253
 * characters. A name that is valid already comes back unchanged.
 */
export function dnsNameOf(raw: string): string {
  let out = '';
  for (const label of raw.split('.').map(labelOf).filter((l) => l !== '')) {
    const next = out === '' ? label : `${out}.${label}`;
    if (next.length > MAX_NAME) break;
    out = next;
  }
  return out;
}

/**
 * The name the container asks for on every network (K5): K8S_POD_NAME from
 * CNI_ARGS (podman passes the container name, CRI-O the pod name), else the
 * container id: its first 12 characters when it is a generated hex id
 * (Docker's short id), else the whole id (ctr passes `<namespace>-<id>`, so
 * `default-redis1` and `default-redis2` stay two names). Either is made a
 * valid DNS name (dnsNameOf); when nothing of it is left, `cni-` and 12 hex
 * digits of the id's digest.
 */
export function endpointNameOf(containerId: string, args: ReadonlyMap<string, string>): string {
  const pod = args.get('K8S_POD_NAME');
  const raw = pod !== undefined && pod !== '' ? pod : HEX_ID.test(containerId) ? containerId.slice(0, 12) : containerId;
  const name = dnsNameOf(raw);
  return name !== '' ? name : `cni-${digestOf(containerId).slice(0, 12)}`;
}

/**
 * The name a container gets when another endpoint of the network holds the
 * one it asked for (two CRI-O pods of one name in two Kubernetes namespaces):
 * the wanted name, cut so that each label still fits 63 characters, then `-`
 * and 8 hex digits of the container id's digest. Stable for one container
 * (ADD twice and CHECK find the same name), distinct for two.
 */
export function uniqueNameOf(wanted: string, containerId: string): string {
  const stem = wanted.slice(0, MAX_LABEL - SUFFIX).replace(/[.-]+$/, '');
  return dnsNameOf(`${stem}-${digestOf(containerId).slice(0, SUFFIX - 1)}`);
}

/** Aliases without the endpoint's own name and without repeats (case-insensitive, as DNS). */
export function cleanAliases(name: string, aliases: readonly string[]): string[] {
  const seen = new Set([name.toLowerCase()]);
  return aliases.filter((a) => {
    const k = a.toLowerCase();
    if (a === '' || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
