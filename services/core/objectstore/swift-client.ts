// The `swift` backend's connection to its upstream: authentication (tempauth v1 or Keystone v3
// password auth), the cached token, and one request helper over node:http with a keep-alive agent.
// node:http rather than fetch: it streams a request body under a declared Content-Length, waits
// for `100 Continue` before sending a byte, and aborts a half-sent body by destroying the socket,
// which is how a refused upload is kept from ever becoming visible upstream.
import * as http from 'node:http';
import * as https from 'node:https';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ObjectStoreConfig } from '../config';
import { CairnError } from '../errors';

/** The credential part of the swift backend's configuration. */
export type SwiftAuthSettings = Omit<Extract<ObjectStoreConfig, { backend: 'swift' }>, 'backend' | 'accountPrefix'>;

export interface UpstreamRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  /** Upstream account name (already mapped). */
  account: string;
  container?: string;
  object?: string;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  /**
   * Streamed (through `through`, if set) only after the upstream's `100 Continue`; an error of
   * either stream aborts the upload and rejects the request with that error.
   */
  body?: { source: Readable; through?: Transform };
}

export interface UpstreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

interface Session {
  token: string;
  /** Storage URL without the account: `http://host:port/v1`. */
  base: string;
  /** Epoch ms after which the token is renewed before use. */
  renewAt: number;
}

/** Socket silence tolerated until the upstream starts answering (Swift's own client_timeout); none after. */
const HEADERS_TIMEOUT_MS = 60_000;
/** Renew a token this long before the upstream says it expires. */
const RENEW_MARGIN_MS = 60_000;

export class SwiftClient {
  private session: Session | undefined;
  private authenticating: Promise<Session> | undefined;
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64 });

  constructor(private readonly auth: SwiftAuthSettings) {}

  /**
   * Sends one request with a valid token; on 401 re-authenticates once and retries, unless a
   * body was already streamed (it cannot be replayed). Connection failures become
   * `storage.upstream_unavailable`; the caller maps every status.
   */
  async request(r: UpstreamRequest): Promise<UpstreamResponse> {
    let session = await this.currentSession();
    const first = await this.send(r, session);
    if (first.res.status !== 401 || first.bodyStarted) return first.res;
    await drain(first.res.body);
    if (this.session === session) this.session = undefined;
    session = await this.currentSession();
    const second = await this.send(r, session);
    if (second.res.status === 401) {
      await drain(second.res.body);
      throw new CairnError('storage.upstream_unavailable', { reason: 'the upstream refuses the configured credential (401)' });
    }
    return second.res;
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private currentSession(): Promise<Session> {
    if (this.session && Date.now() < this.session.renewAt) return Promise.resolve(this.session);
    this.authenticating ??= this.authenticate()
      .then((s) => (this.session = s))
      .finally(() => (this.authenticating = undefined));
    return this.authenticating;
  }

  private async authenticate(): Promise<Session> {
    return this.auth.authVersion === '3' ? this.authenticateV3() : this.authenticateV1();
  }

  private async authenticateV1(): Promise<Session> {
    const res = await this.raw('GET', new URL(this.auth.authUrl), { 'x-auth-user': this.auth.user, 'x-auth-key': this.auth.key });
    const text = await readText(res.body);
    if (res.status !== 200) throw authFailed(res.status, text);
    const token = header(res.headers, 'x-auth-token');
    const storageUrl = header(res.headers, 'x-storage-url');
    if (!token || !storageUrl) throw authFailed(res.status, 'no X-Auth-Token or X-Storage-Url in the answer');
    const ttl = Number(header(res.headers, 'x-auth-token-expires') ?? 3600) * 1000;
    return { token, base: accountlessBase(storageUrl), renewAt: Date.now() + Math.max(0, ttl - RENEW_MARGIN_MS) };
  }

  private async authenticateV3(): Promise<Session> {
    const url = new URL(this.auth.authUrl.replace(/\/+$/, '') + '/auth/tokens');
    const domain = { name: this.auth.domainName };
    const body = JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: this.auth.user, password: this.auth.key, domain } } },
        scope: { project: { name: this.auth.projectName, domain } },
      },
    });
    const res = await this.raw('POST', url, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, body);
    const text = await readText(res.body);
    if (res.status !== 201 && res.status !== 200) throw authFailed(res.status, text);
    const token = header(res.headers, 'x-subject-token');
    let doc: { token?: { expires_at?: string; catalog?: { type?: string; endpoints?: { interface?: string; url?: string }[] }[] } };
    try {
      doc = JSON.parse(text);
    } catch {
      throw authFailed(res.status, 'the token answer is not JSON');
    }
    const endpoints = doc.token?.catalog?.find((s) => s.type === 'object-store')?.endpoints ?? [];
    const storageUrl = (endpoints.find((e) => e.interface === 'public') ?? endpoints[0])?.url;
    if (!token || !storageUrl) throw authFailed(res.status, 'no X-Subject-Token or object-store endpoint in the catalog');
    const expires = Date.parse(doc.token?.expires_at ?? '');
    const renewAt = Number.isFinite(expires) ? expires - RENEW_MARGIN_MS : Date.now() + 3_600_000;
    return { token, base: accountlessBase(storageUrl), renewAt };
  }

  private async send(r: UpstreamRequest, session: Session): Promise<{ res: UpstreamResponse; bodyStarted: boolean }> {
    // A raw path, not a URL: WHATWG URL parsing would resolve `.`/`..` (even `%2E%2E`) segments,
    // which are legitimate parts of Swift object names.
    const base = new URL(session.base);
    let path = `${base.pathname.replace(/\/+$/, '')}/${encodeURIComponent(r.account)}`;
    if (r.container !== undefined) path += `/${encodeURIComponent(r.container)}`;
    if (r.object !== undefined) path += `/${r.object.split('/').map(encodeURIComponent).join('/')}`;
    const query = Object.entries(r.query ?? {}).filter((e): e is [string, string] => e[1] !== undefined);
    if (query.length) path += `?${new URLSearchParams(query).toString()}`;
    const headers = { ...(r.headers ?? {}), 'x-auth-token': session.token };
    let bodyStarted = false;
    const b = r.body;
    const res = await this.raw(r.method, base, headers, b && {
      source: b.source,
      start: (req) => {
        bodyStarted = true;
        return b.through ? pipeline(b.source, b.through, req) : pipeline(b.source, req);
      },
    }, path);
    return { res, bodyStarted };
  }

  /**
   * One HTTP exchange. A function body is started on `100 Continue`; if the answer comes first the
   * body is never read and the socket is dropped once the answer is consumed.
   */
  private raw(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body?: string | { source: Readable; start: (req: http.ClientRequest) => Promise<void> },
    /** Request target sent as is (instead of the URL's own path). */
    path?: string,
  ): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => {
      const streamed = typeof body === 'object';
      const agent = url.protocol === 'https:' ? this.httpsAgent : this.httpAgent;
      const req = (url.protocol === 'https:' ? https : http).request(url, {
        method,
        agent,
        headers: streamed ? { ...headers, expect: '100-continue' } : headers,
        ...(path !== undefined && { path }),
      });
      let settled = false;
      let bodyError: unknown;
      let bodyDone = !streamed;
      // The source may fail (client gone) before the upstream asked for the body.
      const early = (err: Error): void => failBody(err);
      const failBody = (err: unknown): void => {
        bodyError ??= err;
        req.destroy();
        fail(err);
      };
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        reject(bodyError ?? (err instanceof CairnError ? err : new CairnError('storage.upstream_unavailable', { reason: `${method} ${url.host}: ${(err as Error).message}` }, { cause: err })));
      };
      req.setTimeout(HEADERS_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${HEADERS_TIMEOUT_MS / 1000} s`)));
      req.on('error', fail);
      req.on('response', (res) => {
        req.setTimeout(0);
        if (bodyError !== undefined) return fail(bodyError);
        settled = true;
        // An answer before the whole body went out (refusal, or no `100 Continue`): the socket
        // is mid-request, so it cannot be reused.
        if (!bodyDone) res.once('close', () => req.destroy());
        if (typeof body === 'object') body.source.off('error', early);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      if (typeof body === 'object') {
        body.source.once('error', early);
        req.once('continue', () => {
          body.source.off('error', early);
          if (bodyError !== undefined) return;
          body.start(req).then(() => (bodyDone = true), failBody);
        });
        req.flushHeaders();
      } else req.end(body);
    });
  }
}

/** `http://h/v1/AUTH_x` → `http://h/v1`: accounts other than the credential's own sit beside it. */
function accountlessBase(storageUrl: string): string {
  return storageUrl.replace(/\/+$/, '').replace(/\/[^/]*$/, '');
}

function header(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function authFailed(status: number, detail: string): CairnError {
  return new CairnError('storage.upstream_unavailable', { reason: `authentication failed (${status}): ${detail.slice(0, 200).trim()}` });
}

/** Reads a (small) answer body as text: error messages and JSON listings. */
export async function readText(body: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Consumes and discards an answer body so its socket can serve the next request. */
export async function drain(body: http.IncomingMessage): Promise<void> {
  body.resume();
  await new Promise<void>((resolve) => {
    if (body.readableEnded || body.destroyed) return resolve();
    body.once('end', resolve);
    body.once('close', resolve);
    body.once('error', () => resolve());
  });
}
