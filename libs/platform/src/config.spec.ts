import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, tokenName } from './config';

const OPS = 'ops-Zq8vK2mN4pR7tW1x';
const SERVICE = 'svc-Hb5cJ9dL3fG6kM0y';
const AUDITOR = 'aud-Xe2rT7uY4iO8pA1s';

describe('loadConfig', () => {
  const work = mkdtempSync(join(tmpdir(), 'ledger-config-'));
  const dataDir = join(work, 'data');
  const load = (env: NodeJS.ProcessEnv, options?: Parameters<typeof loadConfig>[1]) => loadConfig({ LEDGER_DATA_DIR: dataDir, ...env }, options);
  /** The problems a start with this environment stops on (none: it starts). */
  const problems = (env: NodeJS.ProcessEnv, options?: Parameters<typeof loadConfig>[1]): string[] => {
    try {
      load(env, options);
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.problems;
    }
  };

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('starts on the embedded defaults, on loopback without tokens', () => {
    const config = load({});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 3000, dataDir, apiTokens: [], kafka: null, eventStore: { kind: 'sqlite', path: join(dataDir, 'ledger.db') } });
  });

  describe('HOST', () => {
    it.each(['0.0.0.0', '127.0.0.1', '::', '::1', 'localhost', 'ledger.internal', 'ledger-1.prod.example.com'])('takes %s', (host) => {
      expect(load({ HOST: host }).host).toBe(host);
    });

    it.each(['localhost:3000', '999.1.1.1', '10.0.0', 'my host', '-ledger', 'http://0.0.0.0', '[::1]'])('refuses %s, naming HOST', (host) => {
      expect(problems({ HOST: host })).toEqual([expect.stringMatching(new RegExp(`^HOST must be an IP address .* got "${host.replace(/[[\]().:/]/g, '\\$&')}"$`))]);
    });
  });

  describe('booleans are true or false, nothing else', () => {
    const FLAGS = [
      ['KAFKA_IDEMPOTENT_PRODUCER', 'idempotentProducer', true],
      ['KAFKA_ALLOW_AUTO_TOPIC_CREATION', 'allowAutoTopicCreation', false],
      ['KAFKA_SSL', 'ssl', false],
    ] as const;

    it.each(FLAGS)('%s reads true and false, and defaults when unset', (name, field, fallback) => {
      const kafka = (value?: string) => load({ KAFKA_BROKERS: 'k:9092', ...(value === undefined ? {} : { [name]: value }) }).kafka as unknown as Record<string, boolean>;
      expect(kafka('true')[field]).toBe(true);
      expect(kafka('false')[field]).toBe(false);
      expect(kafka()[field]).toBe(fallback);
      expect(kafka('')[field]).toBe(fallback);
    });

    it.each(FLAGS.flatMap(([name]) => ['yes', 'TRUE', '1', 'off'].map((value) => [name, value])))('%s=%s stops the start, naming it', (name, value) => {
      // Refused even without KAFKA_BROKERS: a typo is a typo before Kafka is switched on, too.
      expect(problems({ [name]: value })).toEqual([`${name} must be true or false, got "${value}"`]);
      expect(problems({ KAFKA_BROKERS: 'k:9092', [name]: value })).toEqual([`${name} must be true or false, got "${value}"`]);
    });
  });

  describe('LEDGER_DATA_DIR', () => {
    it('is created when missing, and left without the probe file', () => {
      const fresh = join(work, 'fresh', 'nested');
      expect(load({ LEDGER_DATA_DIR: fresh }).dataDir).toBe(fresh);
      expect(readdirSync(fresh)).toEqual([]);
    });

    it('stops the start, naming it, when it cannot be written', () => {
      const file = join(work, 'a-file');
      writeFileSync(file, 'not a directory');
      // A regular file, and a path under one: neither can hold the ledger (root passes permission
      // checks, so these are the cases a test running as root can produce).
      for (const dir of [file, join(file, 'data')]) {
        expect(problems({ LEDGER_DATA_DIR: dir })).toEqual([expect.stringMatching(new RegExp(`^LEDGER_DATA_DIR must be a directory the service can write \\(${dir}\\): E[A-Z]+$`))]);
      }
    });

    it('is not written when the caller only reads (the auditors\' CLI)', () => {
      const untouched = join(work, 'never-created');
      expect(load({ LEDGER_DATA_DIR: untouched }, { writableDataDir: false }).dataDir).toBe(untouched);
      expect(readdirSync(work)).not.toContain('never-created');
    });
  });

  describe('LEDGER_API_TOKENS', () => {
    it('role:token pairs are named by role and token fingerprint, whatever their order', () => {
      const forwards = load({ LEDGER_API_TOKENS: `ops:${OPS},service:${SERVICE}, auditor:${AUDITOR}` }).apiTokens;
      const backwards = load({ LEDGER_API_TOKENS: `auditor:${AUDITOR},service:${SERVICE},ops:${OPS}` }).apiTokens;
      expect(forwards.map(({ name }) => name)).toEqual([expect.stringMatching(/^ops-[0-9a-f]{8}$/), expect.stringMatching(/^service-[0-9a-f]{8}$/), expect.stringMatching(/^auditor-[0-9a-f]{8}$/)]);
      expect(new Set(backwards)).toEqual(new Set(forwards));
      expect(forwards[0]).toEqual({ role: 'ops', token: OPS, name: tokenName('ops', OPS) });
      // A second token of a role gets its own name, and the first keeps its own.
      const more = load({ LEDGER_API_TOKENS: `service:${SERVICE}0,service:${SERVICE}` }).apiTokens;
      expect(more[1].name).toBe(forwards[1].name);
      expect(more[0].name).not.toBe(more[1].name);
      expect(load({ LEDGER_API_TOKENS: `ops:${OPS}` }).host).toBe('0.0.0.0');
    });

    it('a JSON list gives names, and tokens may hold ":" and ","', () => {
      const list = [
        { name: 'erp', role: 'service', token: 'erp:Hb5c,J9dL3fG6kM0y' },
        { name: 'night-audit', role: 'auditor', token: AUDITOR },
      ];
      expect(load({ LEDGER_API_TOKENS: ` ${JSON.stringify(list)} ` }).apiTokens).toEqual(list);
    });

    it.each([
      ['ops:short', /the ops token must be at least 16 characters/],
      [`admin:${OPS}`, /each entry is role:token with role one of ops, service, auditor/],
      [OPS, /each entry is role:token/],
      [`ops:${OPS},service:${OPS}`, /the token of "service-[0-9a-f]{8}" is listed twice/],
      ['[{"name":"erp"', /looks like JSON but is not valid JSON/],
      ['[]x', /not valid JSON/],
      [JSON.stringify([{ name: 'erp', role: 'root', token: SERVICE }]), /LEDGER_API_TOKENS\[0\]: "role" must be one of ops, service, auditor/],
      [JSON.stringify([{ name: 'erp', role: 'service', token: 'short' }]), /LEDGER_API_TOKENS\[0\]: "token" must be at least 16 characters/],
      [JSON.stringify([{ name: 'erp', role: 'service', token: 'has a space in it ok' }]), /"token" must be at least 16 characters, without whitespace/],
      [JSON.stringify([{ name: 'kafka:erp', role: 'service', token: SERVICE }]), /LEDGER_API_TOKENS\[0\]: "name" must be 1 to 64 letters/],
      [JSON.stringify([{ role: 'service', token: SERVICE }]), /"name" must be/],
      [JSON.stringify([{ name: 'erp', role: 'service', token: SERVICE }, 'ops']), /LEDGER_API_TOKENS\[1\]: each entry is an object/],
      [JSON.stringify({ name: 'erp', role: 'service', token: SERVICE }), /the JSON form is a list/],
      [JSON.stringify([{ name: 'erp', role: 'service', token: SERVICE }, { name: 'erp', role: 'ops', token: OPS }]), /the name "erp" is given to more than one token/],
    ])('refuses %s', (tokens, message) => {
      const found = problems({ LEDGER_API_TOKENS: tokens });
      expect(found).toEqual([expect.stringMatching(message)]);
      for (const secret of [OPS, SERVICE, 'erp:Hb5c']) expect(found.join('\n')).not.toContain(secret);
    });
  });

  it('names every problem at once', () => {
    expect(problems({ HOST: 'a b', PORT: '70000', KAFKA_SSL: 'yes', LOG_LEVEL: 'loud', LEDGER_API_TOKENS: 'ops:short' }).map((problem) => problem.split(' ')[0]).sort()).toEqual([
      'HOST',
      'KAFKA_SSL',
      'LEDGER_API_TOKENS:',
      'LOG_LEVEL',
      'PORT',
    ]);
  });
});
