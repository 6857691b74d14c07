import { AdapterRejectedError, errorForStatus, fetchOrTransient, readJson, withRetries } from '../http/retry';

export interface AccessToken {
  value: string;
  /** When it stops working (ms since epoch). */
  expiresAt: number;
}

/**
 * Caches an OAuth access token and renews it `renewBeforeMs` before it expires (Amazon's own client
 * renews 60 s early), one renewal at a time however many callers wait. `invalidate()` drops a token
 * the API refused, so the next call gets a fresh one.
 */
export class CachedAccessToken {
  private token: AccessToken | null = null;
  private renewing: Promise<AccessToken> | null = null;
  renewals = 0;

  constructor(
    private readonly obtain: () => Promise<AccessToken>,
    private readonly renewBeforeMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<string> {
    if (this.token && this.now() < this.token.expiresAt - this.renewBeforeMs) return this.token.value;
    if (!this.renewing) {
      this.renewing = this.obtain()
        .then((token) => {
          this.token = token;
          this.renewals += 1;
          return token;
        })
        .finally(() => (this.renewing = null));
    }
    return (await this.renewing).value;
  }

  invalidate(value: string): void {
    if (this.token?.value === value) this.token = null;
  }
}

/** Login with Amazon: the refresh-token grant (`POST /auth/o2/token`, form encoded). */
export function lwaRefreshToken(options: { tokenUrl: string; clientId: string; clientSecret: string; refreshToken: string; fetch?: typeof fetch; now?: () => number }) {
  const fetcher = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  return () =>
    withRetries(async () => {
      const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: options.refreshToken, client_id: options.clientId, client_secret: options.clientSecret });
      const response = await fetchOrTransient(fetcher, options.tokenUrl, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded;charset=UTF-8' }, body }, 'LWA token');
      const answer = await readJson(response);
      if (!response.ok) throw errorForStatus(`LWA token (${answer?.error ?? 'error'})`, response, answer);
      if (typeof answer?.access_token !== 'string' || !Number.isFinite(answer?.expires_in)) throw new AdapterRejectedError('LWA token answer has no access_token/expires_in');
      return { value: answer.access_token as string, expiresAt: now() + answer.expires_in * 1000 };
    }, { maxAttempts: 5 });
}

/** Flipkart: the client-credentials grant (`GET /oauth-service/oauth/token?grant_type=client_credentials&scope=Seller_Api`, HTTP Basic). */
export function flipkartClientCredentials(options: { apiUrl: string; clientId: string; clientSecret: string; scope?: string; fetch?: typeof fetch; now?: () => number }) {
  const fetcher = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  return () =>
    withRetries(async () => {
      const url = new URL('/oauth-service/oauth/token', options.apiUrl);
      url.searchParams.set('grant_type', 'client_credentials');
      url.searchParams.set('scope', options.scope ?? 'Seller_Api');
      const basic = Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64');
      const response = await fetchOrTransient(fetcher, url, { headers: { Authorization: `Basic ${basic}`, Accept: 'application/json' } }, 'Flipkart token');
      const answer = await readJson(response);
      if (!response.ok) throw errorForStatus(`Flipkart token (${answer?.error ?? 'error'})`, response, answer);
      if (typeof answer?.access_token !== 'string') throw new AdapterRejectedError('Flipkart token answer has no access_token');
      return { value: answer.access_token as string, expiresAt: now() + (Number(answer.expires_in) || 3600) * 1000 };
    }, { maxAttempts: 5 });
}
