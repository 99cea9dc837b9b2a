/**
 * `network rm A B C` and `sandbox rm A B C`, as Docker's `rm` of several:
 * every name is checked before anything is sent (a usage error, exit 2, does
 * nothing); each is deleted in turn and printed as it goes; a refusal is
 * printed on stderr and the rest go on; the exit code is then 1. A daemon
 * that cannot be reached ends it at once (exit 3).
 */
import type { Command } from 'commander';
import { objectSegment, type CliContext } from './context.js';
import { DaemonUnreachableError, errorText, EXIT } from './errors.js';

/** Delete each of `names` (objects of `kind`) through `DELETE /<collection>/<name>`. */
export async function removeEach(ctx: CliContext, cmd: Command, kind: 'network' | 'sandbox', names: readonly string[]): Promise<void> {
  const collection = kind === 'network' ? 'networks' : 'sandboxes';
  const segments = names.map((n) => objectSegment(kind, n));
  const json = (cmd.optsWithGlobals() as { json?: boolean }).json === true;
  const done: { name: string }[] = [];
  for (const seg of segments) {
    try {
      const r = await ctx.client(cmd).call<{ name: string }>('DELETE', `/${collection}/${seg}`);
      // each name as it goes: one the daemon deleted is printed even if a later call cannot be made
      if (json) done.push(r);
      else ctx.io.stdout(`${r.name}\n`);
    } catch (err) {
      if (err instanceof DaemonUnreachableError) throw err;
      ctx.io.stderr(errorText(err, json));
      ctx.exitCode = EXIT.FAILED;
    }
  }
  if (json) ctx.emit(cmd, done, () => '');
}
