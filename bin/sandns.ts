#!/usr/bin/env node
/**
 * The sandns command line (bin/cli/program.ts); exit codes in bin/cli/errors.ts.
 */
import { runCli } from './cli/program.js';
import { createClient } from './cli/client.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  env: process.env,
  connect: (socketPath, options) => createClient(socketPath, options),
});
