/**
 * Who the container is to sandns: the sandbox is the container (one per
 * CNI_CONTAINERID, shared by its networks), the endpoint name is the
 * container's name: K8S_POD_NAME from CNI_ARGS (podman passes the container
 * name so), else the first 12 characters of CNI_CONTAINERID (Docker's short id).
 */
import { createHash } from 'node:crypto';

/** Sandbox ids the daemon accepts (Docker's object name rule, ≤ 64 characters). */
const SANDBOX_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

/** The sandbox id of a container: the container id itself when the daemon accepts it, else a stable digest of it. */
export function sandboxIdOf(containerId: string): string {
  if (SANDBOX_ID.test(containerId)) return containerId;
  return `cni-${createHash('sha256').update(containerId).digest('hex').slice(0, 40)}`;
}

/** The endpoint's DNS name: K8S_POD_NAME, else the first 12 characters of the container id. */
export function endpointNameOf(containerId: string, args: ReadonlyMap<string, string>): string {
  const pod = args.get('K8S_POD_NAME');
  return pod !== undefined && pod !== '' ? pod : containerId.slice(0, 12);
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
