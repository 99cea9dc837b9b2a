#!/usr/bin/env node
/**
 * The sandns command line.
 */
import { Command } from 'commander';
import { runDemo } from './demo.js';

const program = new Command();
program.name('sandns').description('Embedded DNS and service discovery for container network namespaces');

program
  .command('demo')
  .description('create three sandboxes on a bridge network, resolve each other by name, tear down')
  .option('--log-level <level>', 'pino log level', 'warn')
  .action(async (opts: { logLevel: string }) => {
    process.exitCode = await runDemo({ logLevel: opts.logLevel });
  });

await program.parseAsync(process.argv);
