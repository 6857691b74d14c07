import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as a fake saw it. */
export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  /** The body parsed as JSON, undefined when it is not JSON. */
  json: any;
}

export interface FakeResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as is (not JSON). */
  text?: string;
}

export type FakeHandler = (request: FakeRequest, reply: { raw: import('node:http').ServerResponse }) => Promise<FakeResponse | null> | FakeResponse | null;

export interface FakeServer {
  url: string;
  /** Every request received, in order. */
  requests: FakeRequest[];
  close(): Promise<void>;
}

/** A real HTTP server on loopback (port 0) answering with `handler`; `null` means the handler wrote the response itself. */
export async function startFakeServer(handler: FakeHandler): Promise<FakeServer> {
  const requests: FakeRequest[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', async () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(incoming.url ?? '/', 'http://fake');
      let json: any;
      try {
        json = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        json = undefined;
      }
      const request: FakeRequest = { method: incoming.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: incoming.headers, raw, json };
      requests.push(request);
      try {
        const answer = await handler(request, { raw: outgoing });
        if (answer === null) return;
        const headers = { 'Content-Type': answer.text !== undefined ? 'text/plain' : 'application/json', ...answer.headers };
        outgoing.writeHead(answer.status, headers);
        outgoing.end(answer.text ?? (answer.body === undefined ? '' : JSON.stringify(answer.body)));
      } catch (error) {
        outgoing.writeHead(500, { 'Content-Type': 'application/json' });
        outgoing.end(JSON.stringify({ error: (error as Error).message }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The token bucket an API enforces (Amazon's usage plans; a stand-in for unpublished limits): `rate`
 * tokens a second up to `burst`. `tryTake` answers whether this request may go now.
 */
export class FakeRateLimit {
  private tokens: number;
  private at = Date.now();
  accepted = 0;
  refused = 0;

  constructor(readonly rate: number, readonly burst: number) {
    this.tokens = burst;
  }

  tryTake(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.accepted += 1;
      return true;
    }
    this.refused += 1;
    return false;
  }
}
