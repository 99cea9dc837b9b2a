#!/usr/bin/env node
/**
 * sandns-cni: the sandns CNI plugin (install it into a CNI plugin directory
 * as `sandns`; see docs/cni.md). Parameters from the environment, the
 * configuration on stdin, the result or a CNI error on stdout (cni/).
 */
import { runCniPlugin } from '../cni/index.js';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

// VERSION needs no configuration: a caller that gives no stdin must not hang it.
const outcome = await runCniPlugin(process.env, process.env.CNI_COMMAND === 'VERSION' ? '' : await readStdin());
if (outcome.stderr !== undefined) process.stderr.write(outcome.stderr);
process.stdout.write(outcome.stdout, () => process.exit(outcome.exitCode));
