/**
 * The layers, checked by `npm run lint:deps` (part of `npm test`). The graph reads
 *   apps -> application libs (core, projections, relay, audit, connector) -> ledger-model -> domain,
 * with the infrastructure libs (event-store, bus, platform) below the application, never above it.
 * Test code (*.spec.ts, *.int-spec.ts, *.e2e-spec.ts, testing/ folders) may reach test support and
 * the running app; production code may not. docs/architecture.md draws the same picture.
 */
const TEST_CODE = '(\\.(spec|int-spec|e2e-spec)\\.ts$|/testing/)';
const production = (path) => ({ path, pathNot: TEST_CODE });
const rule = (name, comment, from, to) => ({ name, comment, severity: 'error', from, to });

module.exports = {
  forbidden: [
    rule(
      'domain-is-pure',
      'libs/domain holds commands, events, state, decide and evolve: nothing from another lib, NestJS or I/O.',
      production('^libs/domain/'),
      { pathNot: '^libs/domain/', dependencyTypesNot: ['type-only'] },
    ),
    rule(
      'domain-types-stay-in-domain',
      'Not even a type from another lib or a framework in the domain (its specs included).',
      { path: '^libs/domain/' },
      { path: '^(libs/(?!domain/)|apps/|node_modules/(@nestjs|better-sqlite3|kafkajs|@eventstore|rxjs)/)' },
    ),
    rule(
      'ledger-model-is-low',
      'libs/ledger-model (what a stored ledger event is) builds on the domain and the event-store port only.',
      production('^libs/ledger-model/'),
      { path: '^(libs/(?!ledger-model/|domain/|event-store/)|apps/)' },
    ),
    rule(
      'infrastructure-not-application',
      'event-store, bus and platform are adapters and plumbing: they know nothing of the application above them.',
      production('^libs/(event-store|bus|platform)/'),
      { path: '^(libs/(core|projections|relay|audit|connector|ledger-model)/|apps/)' },
    ),
    rule(
      'core-not-up',
      'The write side never reaches into read models, relays or auditors.',
      production('^libs/core/'),
      { path: '^libs/(projections|relay|audit|connector)/' },
    ),
    rule(
      'projections-not-core',
      'Read models are built from the ledger alone; they never call the write side (the app wires ports between them).',
      production('^libs/projections/'),
      { path: '^libs/(core|relay|audit|connector)/' },
    ),
    rule(
      'audit-reads-only',
      'Auditors replay the ledger; they never use the write side, read models or relays.',
      production('^libs/audit/'),
      { path: '^libs/(core|projections|relay|connector)/' },
    ),
    rule(
      'relay-not-write-side',
      'Relays forward what the ledger and the read models hold; they never call the write side or the auditors.',
      production('^libs/relay/'),
      { path: '^libs/(core|audit|connector)/' },
    ),
    rule(
      'connector-stands-alone',
      'The connector library runs next to a marketplace, apart from the ledger: the bus and the message formats only.',
      production('^libs/connector/'),
      { path: '^libs/(core|projections|audit|ledger-model)/' },
    ),
    rule('libs-not-apps', 'Libraries never import an app.', production('^libs/'), { path: '^apps/' }),
    rule(
      'adapters-side-by-side',
      'In the service, the HTTP API and the Kafka intake share apps/ledger/src/commands and errors, never each other.',
      { path: '^apps/ledger/src/(intake|commands|errors)/' },
      { path: '^apps/ledger/src/http/' },
    ),
    rule(
      'no-test-support-in-production',
      'Production code never imports test support, test files or testing/ helpers.',
      production('^(apps|libs)/'),
      { path: `(^test/|${TEST_CODE})` },
    ),
    rule(
      'no-relative-import-across-packages',
      'Another package is imported by its alias (@ledger/<lib>, @app/<app>/<file>, @test/<file>), never by a ../ path into it.',
      { path: '^(apps|libs)/([^/]+)/' },
      { dependencyTypes: ['local'], dependencyTypesNot: ['aliased'], pathNot: '^$1/$2/' },
    ),
    rule(
      'no-relative-import-from-tests-and-bench',
      'test/ and bench/ reach apps and libs by alias too.',
      { path: '^(test|bench)/' },
      { dependencyTypes: ['local'], dependencyTypesNot: ['aliased'], pathNot: '^$1/' },
    ),
    rule('no-circular', 'A cycle between modules makes their load order matter.', {}, { circular: true }),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^dist/|^node_modules/)' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
