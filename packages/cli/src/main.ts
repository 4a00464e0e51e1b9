#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, RootKeyError } from '@plinth/host';
import { runCommand, CliError } from './commands.js';

/** Every command prints a one-line error and exits non-zero on failure (CONTRACT §2). */
async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      url: { type: 'string' },
      data: { type: 'string' },
      port: { type: 'string' },
      'base-url': { type: 'string' },
      'sign-key': { type: 'string' },
      output: { type: 'string', short: 'o' },
      follow: { type: 'boolean', short: 'f', default: false },
      lines: { type: 'string' },
      'keep-data': { type: 'boolean', default: false },
      name: { type: 'string' },
      admin: { type: 'boolean', default: false },
      'password-stdin': { type: 'boolean', default: false },
      user: { type: 'string' },
      app: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
      version: { type: 'boolean', default: false },
      audit: { type: 'boolean', default: false },
      history: { type: 'string' },
      'allow-downgrade': { type: 'boolean', default: false },
      rotate: { type: 'boolean', default: false },
      's3-port': { type: 'string' },
    },
  });
  await runCommand(positionals, values);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof CliError || error instanceof ConfigError || error instanceof RootKeyError || (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
    ? error.message
    : `unexpected error: ${error instanceof Error ? error.stack : String(error)}`;
  process.stderr.write(`plinth: ${message.split('\n')[0]}\n`);
  process.exit(1);
});
