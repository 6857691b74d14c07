import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parser as promql } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import { createClient, type HttpClient } from '@test/http';
import { startTestApp, type TestApp } from '@test/test-app';

const DEPLOY = resolve(__dirname, '..', '..', 'deploy');
const PROMETHEUS = join(DEPLOY, 'prometheus');
const DASHBOARD = join(DEPLOY, 'grafana', 'dashboards', 'inventory-ledger.json');
/** Made by Prometheus itself, not by the app. */
const PROMETHEUS_OWN = new Set(['up']);

const yaml = (path: string) => parseYaml(readFileSync(path, 'utf8'));

interface Rule {
  alert: string;
  expr: string;
}

const rules = (): Rule[] => (yaml(join(PROMETHEUS, 'alerts.yml')).groups as { rules: Rule[] }[]).flatMap((group) => group.rules);

function dashboardQueries(): { panel: string; expr: string }[] {
  const walk = (panels: any[]): { panel: string; expr: string }[] =>
    panels.flatMap((panel) => [...(panel.targets ?? []).map((target: { expr: string }) => ({ panel: panel.title, expr: target.expr })), ...walk(panel.panels ?? [])]);
  return walk(JSON.parse(readFileSync(DASHBOARD, 'utf8')).panels);
}

/** The metric names a PromQL expression selects, or its syntax errors. Grafana's variables become what they stand for. */
function selectedMetrics(expr: string): { metrics: string[]; errors: number[] } {
  const query = expr.replace(/\$__rate_interval|\$__interval/g, '5m');
  const metrics: string[] = [];
  const errors: number[] = [];
  promql.parse(query).iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
      if (node.name === 'VectorSelector') {
        const name = node.node.getChild('Identifier');
        if (name) metrics.push(query.slice(name.from, name.to));
      }
    },
  });
  return { metrics, errors };
}

interface Exposition {
  types: Map<string, string>;
  samples: { name: string; labels: string; value: number }[];
}

/** The Prometheus text format, as far as this test needs it. */
function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Exposition['samples'] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1], type[2]);
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (sample) samples.push({ name: sample[1], labels: sample[2] ?? '', value: Number(sample[3]) });
  }
  return { types, samples };
}

/** A histogram's _bucket, _sum and _count series belong to the histogram's name. */
function familyOf(name: string, types: Map<string, string>): string {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && types.get(base) === 'histogram' ? base : name;
}

const promtool = spawnSync('promtool', ['--version']).error ? null : 'promtool';
if (!promtool) console.warn('promtool is not installed (Debian package "prometheus", listed in .ci/apt-packages.txt): the promtool checks of deploy/prometheus are skipped; every other check runs');
const withPromtool = promtool ? it : it.skip;

describe('deploy/prometheus with promtool', () => {
  const run = (...args: string[]) => spawnSync('promtool', args, { cwd: PROMETHEUS, encoding: 'utf8' });

  withPromtool('check config: prometheus.yml and the rule files it names', () => {
    const result = run('check', 'config', 'prometheus.yml');
    expect({ status: result.status, output: `${result.stdout}${result.stderr}` }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });

  withPromtool('check rules: alerts.yml', () => {
    const result = run('check', 'rules', 'alerts.yml');
    expect({ status: result.status, output: `${result.stdout}${result.stderr}` }).toEqual({ status: 0, output: expect.stringContaining(`SUCCESS: ${rules().length} rules found`) });
  });

  withPromtool('test rules: each alert fires on its trouble and not on the healthy series beside it', () => {
    const result = run('test', 'rules', 'alerts.test.yml');
    expect({ status: result.status, output: `${result.stdout}${result.stderr}` }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
    const tested = new Set((yaml(join(PROMETHEUS, 'alerts.test.yml')).tests as { alert_rule_test: { alertname: string }[] }[]).flatMap((test) => test.alert_rule_test.map((each) => each.alertname)));
    expect(rules().map((rule) => rule.alert).filter((alert) => !tested.has(alert))).toEqual([]);
  });
});

describe('every metric the alerts and the dashboard use is exported by the app from its start', () => {
  let testApp: TestApp;
  let http: HttpClient;
  let atStart: Exposition;

  beforeAll(async () => {
    testApp = await startTestApp();
    http = createClient(testApp.url);
    // The first scrape, before anything else reached the app.
    atStart = parseExposition((await http.get('/metrics')).text);
  });

  afterAll(async () => {
    http?.close();
    await testApp?.close();
  });

  it('the dashboard queries are valid PromQL on the provisioned datasource', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
    const datasource = yaml(join(DEPLOY, 'grafana', 'provisioning', 'datasources', 'prometheus.yml')).datasources[0];
    const panels = (dashboard.panels as any[]).flatMap((panel) => [panel, ...(panel.panels ?? [])]).filter((panel) => panel.targets);
    expect(panels.length).toBeGreaterThan(10);
    for (const panel of panels) expect({ panel: panel.title, uid: panel.datasource.uid }).toEqual({ panel: panel.title, uid: datasource.uid });
    expect(dashboardQueries().filter(({ expr }) => selectedMetrics(expr).errors.length > 0)).toEqual([]);
  });

  it('names only metrics the app declares at start', () => {
    const used = [...rules(), ...dashboardQueries()].flatMap(({ expr }) => selectedMetrics(expr).metrics).filter((name) => !PROMETHEUS_OWN.has(name));
    const missing = [...new Set(used)].filter((name) => !atStart.types.has(familyOf(name, atStart.types)));
    expect(missing).toEqual([]);
    // The panels the issue asks for, by what they measure.
    for (const metric of [
      'ledger_commands_total',
      'ledger_command_duration_seconds_bucket',
      'ledger_stock_refusals_total',
      'ledger_availability_propagation_seconds_bucket',
      'ledger_projection_lag_events',
      'ledger_relay_lag_seconds',
      'ledger_rto_pending_units',
      'ledger_rto_oldest_pending_age_seconds',
    ]) {
      expect(used).toContain(metric);
    }
  });

  it('gives every series an alert reads a value at start: 0 for the counters and the lags', () => {
    const alertMetrics = [...new Set(rules().flatMap(({ expr }) => selectedMetrics(expr).metrics))].filter((name) => !PROMETHEUS_OWN.has(name));
    expect(alertMetrics.length).toBeGreaterThan(5);
    for (const name of alertMetrics) {
      const samples = atStart.samples.filter((sample) => sample.name === name);
      expect({ name, series: samples.length > 0 }).toEqual({ name, series: true });
      expect({ name, values: [...new Set(samples.map((sample) => sample.value))] }).toEqual({ name, values: [0] });
    }
    const byProjection = atStart.samples.filter((sample) => sample.name === 'ledger_projection_events_applied_total').map((sample) => sample.labels);
    expect(byProjection.sort()).toEqual(['channel-availability', 'location-stock', 'reservations', 'returns'].map((projection) => `{projection="${projection}"}`));
    expect(atStart.samples).toContainEqual({ name: 'ledger_http_requests_total', labels: '{method="POST",route="/v1/skus/:sku/receipts",status="500"}', value: 0 });
  });

  it('counts HTTP answers by method, route template and status, and the propagation of each change', async () => {
    expect((await http.put('/v1/channels/web', { locations: ['wh-1'] })).status).toBe(200);
    const receipt = await http.post('/v1/skus/MON-1/receipts', { receiptId: 'r-1', location: 'wh-1', quantity: 5 });
    expect(receipt.status).toBe(201);
    expect((await http.get(`/v1/skus/MON-1/availability?minPosition=${receipt.body.position}`)).status).toBe(200);
    expect((await http.get('/v1/skus/NO-SUCH-SKU')).status).toBe(404);
    expect((await http.post('/v1/skus/MON-1/receipts', { receiptId: 'r-2', location: 'wh-1', quantity: -1 })).status).toBe(400);
    expect((await http.get('/no/such/path?x=1')).status).toBe(404);
    const after = parseExposition((await http.get('/metrics')).text);
    const count = (labels: string) => after.samples.find((sample) => sample.name === 'ledger_http_requests_total' && sample.labels === labels)?.value;
    expect({
      put: count('{method="PUT",route="/v1/channels/:channel",status="200"}'),
      created: count('{method="POST",route="/v1/skus/:sku/receipts",status="201"}'),
      invalid: count('{method="POST",route="/v1/skus/:sku/receipts",status="400"}'),
      read: count('{method="GET",route="/v1/skus/:sku/availability",status="200"}'),
      unknownSku: count('{method="GET",route="/v1/skus/:sku",status="404"}'),
      unmatched: count('{method="GET",route="unmatched",status="404"}'),
      firstScrape: count('{method="GET",route="/metrics",status="200"}'),
    }).toEqual({ put: 1, created: 1, invalid: 1, read: 1, unknownSku: 1, unmatched: 1, firstScrape: 1 });
    // Only templates, never raw paths, become labels.
    expect(after.samples.filter((sample) => sample.name === 'ledger_http_requests_total' && /MON-1|NO-SUCH|no\/such/.test(sample.labels))).toEqual([]);
    // The channel's configuration and the receipt each changed a count.
    expect(after.samples.find((sample) => sample.name === 'ledger_availability_propagation_seconds_count')?.value).toBeGreaterThanOrEqual(1);
  });
});

describe('deploy/docker-compose.yml wires the monitoring together', () => {
  const compose = yaml(join(DEPLOY, 'docker-compose.yml'));
  const services = compose.services as Record<string, any>;
  const mount = (service: string, target: string) => {
    const volume = (services[service].volumes as string[]).find((entry) => entry.split(':')[1] === target);
    return volume ? join(DEPLOY, volume.split(':')[0]) : null;
  };

  it('Prometheus reads deploy/prometheus and scrapes the ledger and the connector on their ports', () => {
    expect(mount('prometheus', '/etc/prometheus')).toBe(PROMETHEUS);
    expect(services.prometheus.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    const jobs = Object.fromEntries(
      (yaml(join(PROMETHEUS, 'prometheus.yml')).scrape_configs as { job_name: string; static_configs: { targets: string[] }[] }[]).map((job) => [job.job_name, job.static_configs.flatMap((config) => config.targets)]),
    );
    const dockerfilePort = /PORT=(\d+)/.exec(readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8'))?.[1];
    expect(jobs).toEqual({ ledger: [`ledger:${dockerfilePort}`], connector: [`connector:${services.connector.environment.CONNECTOR_PORT}`] });
  });

  it('Grafana gets the provisioned datasource, pointing at the Prometheus service, and the dashboard', () => {
    const provisioning = mount('grafana', '/etc/grafana/provisioning') as string;
    expect(existsSync(join(provisioning, 'datasources', 'prometheus.yml'))).toBe(true);
    expect(yaml(join(provisioning, 'datasources', 'prometheus.yml')).datasources[0].url).toBe('http://prometheus:9090');
    const provider = yaml(join(provisioning, 'dashboards', 'inventory-ledger.yml')).providers[0];
    expect(mount('grafana', provider.options.path)).toBe(join(DEPLOY, 'grafana', 'dashboards'));
    expect(existsSync(DASHBOARD)).toBe(true);
  });

  it('the connector runs from the ledger image with the connector settings', () => {
    expect(services.connector.image).toBe(services.ledger.image);
    expect(services.connector.environment).toMatchObject({ CONNECTOR_KIND: expect.any(String), CONNECTOR_CHANNEL: expect.any(String), LEDGER_URL: 'http://ledger:3000', CONNECTOR_PORT: '3100', CONNECTOR_HOST: '0.0.0.0' });
  });
});
