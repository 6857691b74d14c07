/**
 * The layers, checked by `npm run depcheck` (part of `npm test`). The graph reads
 *   apps -> application libs (core, projections, relay, audit, connector) -> ledger-model -> domain,
 * with the infrastructure libs (event-store, bus, platform) beside the model, never above it.
 * Tests (*.spec.ts, *.int-spec.ts, *.e2e-spec.ts, testing/ folders) may reach test support; production code may not.
 * docs/architecture.md draws the same picture.
 */
const TEST_CODE = '(\\.(spec|int-spec|e2e-spec)\\.ts$|/testing/)';
const APPLICATION_LIBS = '^libs/(core|projections|relay|audit|connector)/';

module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'libs/domain holds commands, events, state, decide and evolve: no other @ledger lib, no NestJS, no I/O.',
      severity: 'error',
      from: { path: '^libs/domain/', pathNot: TEST_CODE },
      to: {
        pathNot: '^libs/domain/',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'domain-types-stay-in-domain',
      comment: 'Not even a type from another @ledger lib or from a framework in the domain.',
      severity: 'error',
      from: { path: '^libs/domain/' },
      to: { path: '^(libs/(?!domain/)|apps/|node_modules/(@nestjs|better-sqlite3|kafkajs|@eventstore|rxjs))' },
    },
    {
      name: 'ledger-model-is-low',
      comment: 'libs/ledger-model (what a stored ledger event is) builds on the domain and the event-store port only.',
      severity: 'error',
      from: { path: '^libs/ledger-model/', pathNot: TEST_CODE },
      to: { path: '^(libs/(?!ledger-model/|domain/|event-store/)|apps/)' },
    },
    {
      name: 'infrastructure-not-application',
      comment: 'event-store, bus and platform are adapters and plumbing: they know nothing of the application above them.',
      severity: 'error',
      from: { path: '^libs/(event-store|bus|platform)/', pathNot: TEST_CODE },
      to: { path: `(${APPLICATION_LIBS}|^libs/ledger-model/|^apps/)` },
    },
    {
      name: 'core-not-up',
      comment: 'The write side (core) never reaches into read models, relays or auditors.',
      severity: 'error',
      from: { path: '^libs/core/', pathNot: TEST_CODE },
      to: { path: '^libs/(projections|relay|audit|connector)/' },
    },
    {
      name: 'projections-not-core',
      comment: 'Read models are built from the ledger alone; they never call the write side (the app wires ports between them).',
      severity: 'error',
      from: { path: '^libs/projections/', pathNot: TEST_CODE },
      to: { path: '^libs/(core|relay|audit|connector)/' },
    },
    {
      name: 'audit-reads-only',
      comment: 'Auditors replay the ledger; they never use the write side, read models or relays.',
      severity: 'error',
      from: { path: '^libs/audit/', pathNot: TEST_CODE },
      to: { path: '^libs/(core|projections|relay|connector)/' },
    },
    {
      name: 'relay-not-write-side',
      comment: 'Relays forward what the ledger and read models hold; they never call the write side or auditors.',
      severity: 'error',
      from: { path: '^libs/relay/', pathNot: TEST_CODE },
      to: { path: '^libs/(core|audit|connector)/' },
    },
    {
      name: 'connector-stands-alone',
      comment: 'The connector library runs next to a marketplace, apart from the ledger: bus and messages only.',
      severity: 'error',
      from: { path: '^libs/connector/', pathNot: TEST_CODE },
      to: { path: '^libs/(core|projections|audit|ledger-model)/' },
    },
    {
      name: 'libs-not-apps',
      comment: 'Libraries never import an app.',
      severity: 'error',
      from: { path: '^libs/', pathNot: TEST_CODE },
      to: { path: '^apps/' },
    },
    {
      name: 'adapters-side-by-side',
      comment: 'In the service, the HTTP API and the Kafka intake share apps/ledger/src/commands and errors, never each other.',
      severity: 'error',
      from: { path: '^apps/ledger/src/(intake|commands|errors)/' },
      to: { path: '^apps/ledger/src/http/' },
    },
    {
      name: 'no-test-support-in-production',
      comment: 'Production code never imports test support, test files or testing/ helpers.',
      severity: 'error',
      from: { path: '^(apps|libs)/', pathNot: TEST_CODE },
      to: { path: `(^test/|${TEST_CODE})` },
    },
    {
      name: 'no-relative-import-across-packages',
      comment: 'Another package is imported by its alias (@ledger/<lib>, @test/<file>), never by a ../ path into it.',
      severity: 'error',
      from: { path: '^(apps|libs)/([^/]+)/' },
      to: { dependencyTypes: ['local'], dependencyTypesNot: ['aliased'], pathNot: '^$1/$2/' },
    },
    {
      name: 'no-relative-import-into-packages-from-tests-and-bench',
      comment: 'test/ and bench/ reach apps and libs by alias too.',
      severity: 'error',
      from: { path: '^(test|bench)/' },
      to: { dependencyTypes: ['local'], dependencyTypesNot: ['aliased'], pathNot: '^$1/' },
    },
    {
      name: 'no-circular',
      comment: 'A cycle between modules makes their load order matter.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^dist/|^node_modules/)' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
