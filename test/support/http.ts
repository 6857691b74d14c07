import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/** One answer, read in full: status, headers, raw text and the JSON body when there is one. */
export interface HttpResponse<Body = any> {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: Body;
}

export interface RequestOptions {
  /** Sent as JSON. */
  body?: unknown;
  /** Sent byte for byte (with Content-Type: application/json unless `headers` says otherwise). */
  raw?: string | Buffer;
  headers?: Record<string, string>;
  /** Overrides the client's token for this request; null sends no Authorization header. */
  token?: string | null;
}

/** An event stream (text/event-stream) never ends by itself: its answer is taken at the headers and the stream closed. */
const isEventStream = (headers: IncomingHttpHeaders) => /text\/event-stream/.test(String(headers['content-type'] ?? ''));

export interface HttpClient {
  readonly baseUrl: string;
  request<Body = any>(method: string, path: string, options?: RequestOptions): Promise<HttpResponse<Body>>;
  get<Body = any>(path: string, options?: RequestOptions): Promise<HttpResponse<Body>>;
  post<Body = any>(path: string, body?: unknown, options?: RequestOptions): Promise<HttpResponse<Body>>;
  put<Body = any>(path: string, body?: unknown, options?: RequestOptions): Promise<HttpResponse<Body>>;
  /** A client on the same sockets acting with another token (null: none). */
  as(token: string | null): HttpClient;
  /** Closes the keep-alive sockets. */
  close(): void;
}

export interface ClientOptions {
  token?: string | null;
  /** Sockets kept open to the server; requests beyond it queue in the agent. */
  maxSockets?: number;
}

/**
 * A small HTTP client over node's http module with a keep-alive agent: many requests can be in
 * flight at once (Promise.all), which is what the concurrency scenarios need, and bodies can be
 * sent raw, which is what the malformed-input cases need.
 */
export function createClient(baseUrl: string, options: ClientOptions = {}): HttpClient {
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 32 });
  return clientOn(baseUrl, agent, options.token ?? null);
}

function clientOn(baseUrl: string, agent: Agent, defaultToken: string | null): HttpClient {
  const base = new URL(baseUrl);
  const client: HttpClient = {
    baseUrl,
    request(method, path, { body, raw, headers = {}, token } = {}) {
      const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body));
      const bearer = token === undefined ? defaultToken : token;
      const allHeaders: Record<string, string | number> = { ...headers };
      if (payload !== undefined) {
        if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) allHeaders['Content-Type'] = 'application/json';
        allHeaders['Content-Length'] = Buffer.byteLength(payload);
      }
      if (bearer !== null && !Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) {
        allHeaders.Authorization = `Bearer ${bearer}`;
      }
      return new Promise((resolve, reject) => {
        const req = httpRequest(
          { agent, host: base.hostname, port: base.port, method, path, headers: allHeaders },
          (res) => {
            if (isEventStream(res.headers)) {
              res.destroy();
              resolve({ status: res.statusCode ?? 0, headers: res.headers, text: '', body: undefined as any });
              return;
            }
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('error', reject);
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let parsed: unknown = undefined;
              if (/json/.test(String(res.headers['content-type'] ?? '')) && text.length > 0) {
                try {
                  parsed = JSON.parse(text);
                } catch {
                  parsed = undefined;
                }
              }
              resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed as any });
            });
          },
        );
        req.on('error', reject);
        if (payload !== undefined) req.write(payload);
        req.end();
      });
    },
    get: (path, options) => client.request('GET', path, options),
    post: (path, body, options) => client.request('POST', path, { ...options, body }),
    put: (path, body, options) => client.request('PUT', path, { ...options, body }),
    as: (token) => clientOn(baseUrl, agent, token),
    close: () => agent.destroy(),
  };
  return client;
}

/** What GET /v1/skus/:sku/ledger returns per event. */
export interface LedgerEntry {
  id: string;
  type: string;
  revision: number;
  position: number;
  recordedAt: string;
  data: Record<string, any>;
  metadata: Record<string, any>;
}

/** Reads a SKU's whole ledger page by page (following nextFromRevision); [] when the SKU has none. */
export async function readLedger(client: HttpClient, sku: string, pageSize = 100): Promise<LedgerEntry[]> {
  const events: LedgerEntry[] = [];
  let from: number | null = 0;
  while (from !== null) {
    const page: HttpResponse = await client.get(`/v1/skus/${encodeURIComponent(sku)}/ledger?fromRevision=${from}&limit=${pageSize}`);
    if (page.status !== 200) throw new Error(`ledger read of ${sku} answered ${page.status}: ${page.text}`);
    events.push(...page.body.events);
    from = page.body.nextFromRevision;
  }
  return events;
}

/** The revision of a SKU's stream as the ledger endpoint reports it (-1: no stream). */
export async function currentRevision(client: HttpClient, sku: string): Promise<number> {
  const page = await client.get(`/v1/skus/${encodeURIComponent(sku)}/ledger?limit=1`);
  if (page.status !== 200) throw new Error(`ledger read of ${sku} answered ${page.status}: ${page.text}`);
  return page.body.currentRevision;
}
