/**
 * The controller's sandbox operations (L1, L3, L5): create a sandbox (its
 * namespace, or an adopted or late one, and its managed files) and delete it
 * with its endpoints. Each runs on the journal's write-ahead records, so a
 * crash at any point is undone or finished at restore (L6).
 */
import { isEphemeralNetnsPath, openSandbox, pinnedNetnsPath, type OpenedSandbox } from '../sandbox/index.js';
import { sbKey } from '../store/index.js';
import type { OpsContext } from './context.js';
import * as errors from './errors.js';
import { leaveAndDelete } from './join-ops.js';
import { unsavedDone, unsavedUndone } from './journal.js';
import { normalizeSandboxOptions, type SandboxOptions } from './options.js';
import { Sandbox, type SandboxConfig } from './sandbox.js';
import { checkGivenPaths, claimNetns, planSandboxFiles, releaseNetns, withSandboxClaims, type FilesPlan } from './sandbox-files.js';
import { draftRecord, sandboxRecord } from './snapshot.js';

/**
 * Create a sandbox (L1): its namespace (or adopt `options.netnsPath`, or
 * none yet with `options.external`), its hosts and resolv.conf files, and
 * its DNS listener once an endpoint joins. Throws ERR_INVALID_OPTION /
 * ERR_INVALID_NAME (bad options), ERR_SANDBOX_EXISTS, ERR_SANDBOX_NETNS
 * (the namespace cannot be made or is not one).
 */
export async function newSandbox(ctx: OpsContext, containerId: string, options: SandboxOptions): Promise<Sandbox> {
  checkGivenPaths(options, ctx.files.allowedRoot);
  // A /proc/<pid>/ns/net key (ctr run --cni) is pinned: the sandbox keeps, persists and removes the pin.
  const pinFrom = options.netnsPath !== undefined && isEphemeralNetnsPath(options.netnsPath) ? options.netnsPath : undefined;
  const config = normalizeSandboxOptions(containerId, pinFrom === undefined ? options : { ...options, netnsPath: pinnedNetnsPath(containerId) }, ctx.files.filesRoot);
  const key = `sb:${config.id}`;
  return ctx.pendingNames.run(key, () => ctx.sandboxes.has(config.id), () => new errors.SandboxExistsError(config.id), async () => {
    return withSandboxClaims(config, ctx.claims, async () => {
      // An adopted namespace is claimed before anything is made in it; a new one once it exists (L5).
      if (config.externalKey !== undefined) claimNetns(ctx.claims, config.id, pinFrom ?? config.externalKey);
      try {
        const sb = await makeSandbox(ctx, config, options, await planSandboxFiles(config, options, ctx.files), pinFrom);
        if (sb.netnsPath !== '' && config.externalKey === undefined) claimNewNetns(ctx, sb);
        return sb;
      } catch (err) {
        releaseNetns(ctx.claims, config.id);
        throw err;
      }
    });
  });
}

/** Claim a namespace the sandbox just made; a sandbox that adopted it in between (by its path) keeps it. */
function claimNewNetns(ctx: OpsContext, sb: Sandbox): void {
  try {
    claimNetns(ctx.claims, sb.id, sb.netnsPath);
  } catch {
    // ERR_SANDBOX_NETNS_IN_USE: the adopter was first
  }
}

/** newSandbox once its names are claimed and its files checked: namespace, files, model. */
async function makeSandbox(ctx: OpsContext, config: SandboxConfig, options: SandboxOptions, plan: FilesPlan, pinFrom: string | undefined): Promise<Sandbox> {
  const { resolvConfHashPath, ownedDirs, originals } = plan;
  const open = (durable: Promise<void>): Promise<OpenedSandbox> => openSandbox({
    id: config.id, netnsName: config.netnsName, netnsPath: config.externalKey, pinFrom, pending: options.external === true, logger: ctx.logger, filesAfter: durable,
    files: {
      ...config, originResolvConf: ctx.files.originResolvConf, extraHosts: config.extraHosts.map((h) => ({ ip: h.ip, hosts: h.name })),
      legacy: config.disableResolution, resolvConfHashPath, ownedDirs, originals,
    },
    forwarding: ctx.forwarding,
  });
  // In the store before its namespace exists (L3), and synced before its files are written: the namespace is made
  // while the sync runs, as a reboot ends it anyway (Journal.around's overlap).
  return ctx.journal.around(`sb:${config.id}`, { sandbox: draftRecord({ config, resolvConfHashPath, ownedDirs, originals }) }, open, async (opened) => {
    const sb = new Sandbox(ctx.core, config, opened);
    ctx.sandboxes.set(sb.id, sb);
    ctx.startWatch();
    await unsavedUndone(ctx.logger, ctx.journal.committed({ sandbox: sb.id, netns: opened.netnsPath }, 'sandbox created', sbKey(sb.id)), 'the sandbox was not created', async () => {
      // On disk it is still 'creating', which a restart undoes too (L6).
      ctx.sandboxes.delete(sb.id);
      await sb.destroy();
    });
    return sb;
  }, true);
}

/** Delete a sandbox, leaving and deleting its endpoints first (as libnetwork). Throws ERR_SANDBOX_NOT_FOUND (also while another delete runs). */
export async function deleteSandbox(ctx: OpsContext, sb: Sandbox): Promise<void> {
  if (!ctx.sandboxes.has(sb.id) || sb.deleting) throw new errors.SandboxNotFoundError(sb.id);
  sb.deleting = true; // a join from now on answers 404 (L5)
  ctx.sandboxes.delete(sb.id);
  try {
    // Saved as 'deleting' before its first endpoint leaves, until its namespace is gone: a crash anywhere in between
    // is finished at restore, never left half-done (L3, L6).
    await ctx.journal.around(`sb-rm:${sb.id}`, { sandbox: sandboxRecord(sb, 'deleting') }, async () => {
      // Covered by the 'deleting' intent: each step need not wait for its own write.
      for (const ep of [...sb.endpoints.values()]) await leaveAndDelete(ctx, ep, false, false);
      // Leaves another caller began (a disconnect, a vanished link's drop) are no longer in sb.endpoints: their veths
      // and files go before the namespace does.
      await Promise.all(sb.leaves);
      await sb.destroy();
    }, () => undefined);
  } catch (err) {
    ctx.sandboxes.set(sb.id, sb);
    sb.deleting = false;
    throw err;
  }
  sb.releaseClaims?.();
  releaseNetns(ctx.claims, sb.id);
  await unsavedDone(ctx.journal.committed({ sandbox: sb.id }, 'sandbox deleted', sbKey(sb.id)), 'the sandbox was deleted, and its saved \'deleting\' record finishes the delete at a restart');
}
