#!/usr/bin/env node
/**
 * Summarises a .cpuprofile (from `npm run bench -- --profile`): self time by function and by
 * package / source folder, and inclusive time of the functions that matter on the hot path.
 *
 *   node bench/profile-summary.js bench/results/profiles/<file>.cpuprofile [--top 30] [--focus name[,name...]]
 *
 * --focus keeps the inclusive list to functions whose label contains one of the names.
 * --layers prints each sample's time under the innermost layer of the service on its stack
 * (HTTP layer, CommandBus, write side, event store, projections, relays, ...; see LAYERS).
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const args = process.argv.slice(2);
const file = args.find((arg, index) => !arg.startsWith('--') && !['--top', '--focus'].includes(args[index - 1]));
if (!file) {
  console.error('usage: node bench/profile-summary.js <file.cpuprofile> [--top N] [--focus functionName]');
  process.exit(1);
}
const option = (name, fallback) => {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : fallback;
};
const top = Number(option('--top', 30));
const focus = option('--focus', null)?.split(',').filter(Boolean) ?? null;
const layers = args.includes('--layers');

const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

// Self time per node from the samples and their time deltas.
const self = new Map();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const delta = profile.timeDeltas[i] ?? 0;
  self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + delta);
  total += delta;
}

const root = path.resolve(__dirname, '..');
function where(frame) {
  const url = frame.url || '';
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const local = url.replace(/^file:\/\//, '');
  if (local.startsWith('node:')) return 'node internals';
  const nm = local.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = local.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const relative = path.relative(root, local);
  const parts = relative.split(path.sep);
  if (parts[0] === 'libs' || parts[0] === 'apps') return parts.slice(0, 2).join('/') + '/' + parts[parts.length - 1];
  return relative;
}
const label = (frame) => `${frame.functionName || '(anonymous)'} ${where(frame)}:${frame.lineNumber + 1}`;

const byFunction = new Map();
const byPlace = new Map();
for (const [id, time] of self) {
  const frame = nodes.get(id).callFrame;
  byFunction.set(label(frame), (byFunction.get(label(frame)) ?? 0) + time);
  byPlace.set(where(frame), (byPlace.get(where(frame)) ?? 0) + time);
}

const ms = (us) => (us / 1000).toFixed(0).padStart(7);
const pct = (us) => ((100 * us) / total).toFixed(1).padStart(5) + '%';
const print = (title, map, limit) => {
  console.log(`\n${title}`);
  for (const [name, time] of [...map].sort((a, b) => b[1] - a[1]).slice(0, limit)) console.log(`${ms(time)} ms ${pct(time)}  ${name}`);
};
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
print('self time by package / file', byPlace, 25);
print('self time by function', byFunction, top);

// Inclusive time: a sample counts once for every distinct function on its stack.
const inclusive = new Map();
for (const [id, time] of self) {
  const seen = new Set();
  for (let node = id; node !== undefined; node = parent.get(node)) {
    const name = label(nodes.get(node).callFrame);
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + time);
  }
}
const filtered = new Map([...inclusive].filter(([name]) => (focus ? focus.some((part) => name.includes(part)) : !name.startsWith('(root)'))));
print(`inclusive time${focus ? ` (matching ${focus.join(', ')})` : ''}`, filtered, top);

/**
 * Layers by source: the first frame from the leaf up whose source names one decides. Native frames
 * and node's own event loop plumbing decide nothing; node's HTTP and socket code counts as HTTP.
 */
const LAYERS = [
  ['event store (append, fsync, reads)', /libs\/event-store\//],
  ['projections', /libs\/projections\//],
  ['relays and bus', /libs\/(relay|bus)\//],
  ['write side (ledger loop, decide, envelope, hash chain)', /libs\/(core|domain|audit)\//],
  ['CommandBus (@nestjs/cqrs)', /@nestjs\/cqrs\//],
  ['metrics (prom-client)', /prom-client\//],
  ['bench instrumentation', /\/bench\//],
  ['HTTP: validation (class-validator, class-transformer)', /class-(validator|transformer)\//],
  ['HTTP: Nest pipeline, guard, controllers', /@nestjs\/(core|common|platform-fastify)\/|apps\/ledger\//],
  ['HTTP: Fastify and its router', /node_modules\/(fastify|find-my-way|@fastify\/|light-my-request|fast-)/],
  ['HTTP: node http, sockets, streams', /node:(_http_|net|internal\/stream|internal\/streams|stream|internal\/http)/],
];
if (layers) {
  const byLayer = new Map();
  for (const [id, time] of self) {
    let layer = null;
    for (let node = id; node !== undefined && layer === null; node = parent.get(node)) {
      const { url, functionName } = nodes.get(node).callFrame;
      if (!url) {
        if (['(garbage collector)', '(idle)', '(program)'].includes(functionName)) layer = functionName;
        continue;
      }
      for (const [name, pattern] of LAYERS) if (pattern.test(url)) {
        layer = name;
        break;
      }
    }
    layer ??= 'other (event loop, timers, unattributed native)';
    byLayer.set(layer, (byLayer.get(layer) ?? 0) + time);
  }
  print('time by layer (innermost layer of the service on the stack)', byLayer, LAYERS.length + 4);
}
