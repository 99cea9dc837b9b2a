/**
 * Runs `nft -j` batches through execa. The JSON goes as an argument (one
 * argument is limited to 128 KiB by the kernel), or through a private file
 * when larger: `nft -j -f -` cannot be used, nft 1.0.6 opens /dev/stdin,
 * which fails on the socketpair Node gives a child ("Could not open file").
 * One invocation is one nft transaction: all of it applies or none.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../common/io/exec.js';
import { nftDocument, type NftCommand } from '../ruleset.js';
import { FirewallUnavailableError } from '../errors.js';

const ARG_LIMIT = 96 * 1024;

/** Apply commands in one transaction; `check` validates without applying (`nft -c`). Throws ERR_EXEC_FAILED. */
export async function applyNft(commands: readonly NftCommand[], options: { check?: boolean } = {}): Promise<void> {
  if (commands.length === 0) return;
  const json = JSON.stringify(nftDocument(commands));
  const flags = options.check === true ? ['-c', '-j'] : ['-j'];
  if (json.length <= ARG_LIMIT) {
    await run('nft', [...flags, json]);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'sandns-nft-'));
  try {
    const file = join(dir, 'batch.json');
    await writeFile(file, json, { mode: 0o600 });
    await run('nft', [...flags, '-f', file]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Check that `nft` runs (`nft --version`), before anything needs it; throws
 * ERR_FIREWALL_UNAVAILABLE naming why (not found in PATH, not executable,
 * or it failed).
 */
export async function checkNft(): Promise<void> {
  try {
    await run('nft', ['--version']);
  } catch (err) {
    const code = (err as { cause?: { code?: unknown }; code?: unknown }).cause?.code ?? (err as { code?: unknown }).code;
    const text = String((err as Error).message ?? err);
    const why = code === 'ENOENT' || /ENOENT/.test(text) ? '`nft` was not found in PATH' : code === 'EACCES' || /EACCES/.test(text) ? '`nft` cannot be executed' : `\`nft --version\` failed (${text.split('\n')[0]})`;
    throw new FirewallUnavailableError(why, err);
  }
}

/** The table's JSON listing, or undefined when it does not exist. */
export async function listTable(table: string): Promise<unknown[] | undefined> {
  try {
    const { stdout } = await run('nft', ['-j', 'list', 'table', 'inet', table]);
    return (JSON.parse(stdout) as { nftables: unknown[] }).nftables;
  } catch {
    return undefined;
  }
}
