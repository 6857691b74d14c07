/**
 * Runs the TypeScript sources directly: a require hook that transpiles `.ts` with @swc/core (a
 * devDependency, with the repository's .swcrc: legacy decorators and their metadata, as Nest needs)
 * and resolves the aliases of tsconfig.json: `@ledger/<lib>` to `libs/<lib>/src`, `@app/<app>/<file>`
 * to `apps/<app>/src/<file>`, `@test/<file>` to `test/support/<file>`. No build step, nothing written to
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
  const lib = /^@ledger\/([a-z-]+)$/.exec(request);
  const app = /^@app\/([a-z-]+)\/(.+)$/.exec(request);
  const test = /^@test\/(.+)$/.exec(request);
  if (lib) request = path.join(root, 'libs', lib[1], 'src');
  else if (app) request = path.join(root, 'apps', app[1], 'src', app[2]);
  else if (test) request = path.join(root, 'test', 'support', test[1]);
  return originalResolve.call(this, request, parent, isMain, resolveOptions);
};

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { code } = swc.transformSync(source, { ...options, filename });
  module._compile(code, filename);
};

require('reflect-metadata');
