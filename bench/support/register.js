/**
 * Runs the TypeScript sources directly: a require hook that transpiles `.ts` with @swc/core (a
 * devDependency, with the repository's .swcrc: legacy decorators and their metadata, as Nest needs)
 * and resolves the `@ledger/<lib>` aliases to `libs/<lib>/src`. No build step, nothing written to
 * disk; `npm run typecheck` covers bench/ for types.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const swc = require('@swc/core');

const root = path.resolve(__dirname, '..', '..');
const swcrc = JSON.parse(fs.readFileSync(path.join(root, '.swcrc'), 'utf8'));
delete swcrc.$schema;
const options = { ...swcrc, sourceMaps: false, swcrc: false, configFile: false };

const originalResolve = Module._resolveFilename;
Module._resolveFilename = function resolveLedgerAlias(request, parent, isMain, resolveOptions) {
  const match = /^@ledger\/([a-z-]+)$/.exec(request);
  if (match) request = path.join(root, 'libs', match[1], 'src');
  return originalResolve.call(this, request, parent, isMain, resolveOptions);
};

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { code } = swc.transformSync(source, { ...options, filename });
  module._compile(code, filename);
};

require('reflect-metadata');
