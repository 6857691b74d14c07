#!/usr/bin/env node
'use strict';
/**
 * `npm run ledger -- <command>`: runs the compiled CLI, building it first (`nest build ledger-cli`)
 * when dist is missing or older than any source it is compiled from. Build output goes to stderr so
 * stdout carries only the command's own output (use `npm run -s ledger -- export ...` to keep npm's
 * banner out of it too).
 */
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join, resolve } = require('node:path');

const root = resolve(__dirname, '..', '..', '..');
const entry = join(root, 'dist', 'apps', 'ledger-cli', 'src', 'main.js');
const SOURCE_DIRS = ['apps/ledger-cli', 'libs'];
const CONFIG_FILES = ['tsconfig.json', 'tsconfig.build.json', 'nest-cli.json', 'package-lock.json'];

function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const item of readdirSync(dir, { withFileTypes: true })) {
      if (item.name === 'node_modules' || item.name.startsWith('.')) continue;
      const path = join(dir, item.name);
      if (item.isDirectory()) walk(path);
      else if (item.name.endsWith('.ts') && !/\.(spec|int-spec|e2e-spec)\.ts$/.test(item.name)) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of SOURCE_DIRS) if (existsSync(join(root, dir))) walk(join(root, dir));
  for (const file of CONFIG_FILES) if (existsSync(join(root, file))) newest = Math.max(newest, statSync(join(root, file)).mtimeMs);
  return newest;
}

function build() {
  process.stderr.write('ledger: compiling the CLI (nest build ledger-cli) ...\n');
  let nest;
  try {
    nest = require.resolve('@nestjs/cli/bin/nest.js', { paths: [root] });
  } catch {
    process.stderr.write('ledger: @nestjs/cli is not installed; run `npm ci` first\n');
    process.exit(3);
  }
  const result = spawnSync(process.execPath, [nest, 'build', 'ledger-cli'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (result.status !== 0 || !existsSync(entry)) {
    process.stderr.write(`ledger: the build failed (exit ${result.status ?? result.signal}); see the errors above\n`);
    process.exit(3);
  }
}

if (process.env.LEDGER_CLI_SKIP_BUILD !== '1' && (!existsSync(entry) || statSync(entry).mtimeMs < newestSource())) build();
require(entry);
