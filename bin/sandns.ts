#!/usr/bin/env node
/**
 * The sandns command line (bin/cli/program.ts); exit codes in bin/cli/errors.ts.
 */
import { runCli } from './cli/program.js';
import { createClient } from './cli/client.js';
import { createInterface } from 'node:readline';

/** One line from stdin after `question` on stderr; y / yes (any case) is true, anything else or the end of stdin false. */
function confirm(question: string): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
    process.stderr.write(question);
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(/^\s*y(es)?\s*$/i.test(line));
    });
    rl.once('close', () => {
      if (answered) return;
      process.stderr.write('\n'); // stdin ended without an answer: what follows starts a line of its own
      resolve(false);
    });
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  env: process.env,
  confirm,
  connect: (socketPath, options) => createClient(socketPath, options),
});
