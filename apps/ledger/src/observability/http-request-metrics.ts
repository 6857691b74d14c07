import { Injectable, RequestMethod, type OnApplicationBootstrap } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, HttpAdapterHost, MetadataScanner } from '@nestjs/core';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Counter } from 'prom-client';
import { MetricsService } from '@ledger/platform';

interface RouteTemplate {
  method: string;
  /** As declared: `/v1/skus/:sku/receipts`. */
  path: string;
  pattern: RegExp;
  params: number;
}

/**
 * Counts every answered request in `ledger_http_requests_total{method, route, status}`. It listens on
 * the Node HTTP server underneath whichever adapter serves the app (Express or Fastify), so requests
 * refused before a handler runs (401, 413, 404) count too; routes are the controllers' templates,
 * found through Nest's metadata, never raw paths. Each route starts with a `status="500"` series at 0,
 * so a 5xx alert has a baseline from the first scrape.
 */
@Injectable()
export class HttpRequestMetrics implements OnApplicationBootstrap {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    const routes = this.routeTemplates();
    for (const { method, path } of routes) this.metrics.httpRequests.inc({ method, route: path, status: '500' }, 0);
    // No HTTP server in a bare application context: nothing to count.
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return;
    // One child counter per (method, route, status), found without hashing labels on every request.
    const children = new Map<string, Counter.Internal>();
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      // 'close' comes once the answer is complete or the client went away (an SSE stream ends so).
      response.once('close', () => {
        const method = request.method ?? 'GET';
        const route = routeOf(routes, method, request.url ?? '/');
        const status = String(response.statusCode);
        const key = `${method} ${route} ${status}`;
        let child = children.get(key);
        if (!child) children.set(key, (child = this.metrics.httpRequests.labels({ method, route, status })));
        child.inc();
      });
    });
  }

  private routeTemplates(): RouteTemplate[] {
    const routes: RouteTemplate[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const { metatype, instance } = wrapper;
      if (!metatype || !instance) continue;
      const prefixes = asList(Reflect.getMetadata(PATH_METADATA, metatype));
      const prototype = Object.getPrototypeOf(instance);
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name];
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (method === undefined) continue;
        for (const prefix of prefixes) {
          for (const suffix of asList(Reflect.getMetadata(PATH_METADATA, handler))) routes.push(template(RequestMethod[method], prefix, suffix));
        }
      }
    }
    // A static segment wins over a parameter where both would match.
    return routes.sort((a, b) => a.params - b.params);
  }
}

function asList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return [value === undefined ? '' : String(value)];
}

function template(method: string, prefix: string, suffix: string): RouteTemplate {
  const path = `/${[prefix, suffix].join('/')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
  const segments = path.split('/').map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return { method, path, pattern: new RegExp(`^${segments.join('/')}/?$`), params: (path.match(/\/:/g) ?? []).length };
}

function routeOf(routes: RouteTemplate[], method: string, url: string): string {
  const path = url.split('?')[0];
  const wanted = method === 'HEAD' ? ['HEAD', 'GET', 'ALL'] : [method, 'ALL'];
  return routes.find((route) => wanted.includes(route.method) && route.pattern.test(path))?.path ?? 'unmatched';
}
