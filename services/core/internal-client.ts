// One HTTP call on the internal API, as both services make them: keep-alive connections, the
// shared secret, a deadline, and retries only where the caller says the call is idempotent (or
// when the connection was refused, so nothing reached the peer). Node's http rather than fetch:
// per-call deadlines and keep-alive agents without extra machinery, and errors that tell a
// refused connection from one that broke after the request was sent.
import * as http from 'node:http';
import { INTERNAL_TOKEN_HEADER } from './internal-api';

export interface InternalCall {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** The whole call, connection to last byte. */
  timeoutMs: number;
  /** Safe to send again after a failure: reads and idempotent writes. @default false */
  idempotent?: boolean;
}

export interface InternalAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

/** The peer could not be reached or did not answer; `sent` tells whether the request may have arrived. */
export class PeerUnreachableError extends Error {
  constructor(
    message: string,
    readonly sent: boolean,
  ) {
    super(message);
    this.name = 'PeerUnreachableError';
  }
}

/** Attempts beyond the first, and the pause before each. */
const RETRY_DELAYS_MS = [50, 250];

export class InternalClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly base: URL;

  constructor(
    baseUrl: string,
    private readonly token: string,
  ) {
    this.base = new URL(baseUrl);
  }

  async call(c: InternalCall): Promise<InternalAnswer> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(c);
      } catch (err) {
        const retriable = err instanceof PeerUnreachableError && (c.idempotent || !err.sent);
        if (!retriable || attempt >= RETRY_DELAYS_MS.length) throw err;
        await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[attempt]));
      }
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private once(c: InternalCall): Promise<InternalAnswer> {
    const payload = c.body === undefined ? undefined : Buffer.from(JSON.stringify(c.body));
    return new Promise<InternalAnswer>((resolve, reject) => {
      let sent = false;
      let answered = false;
      const req = http.request(
        {
          agent: this.agent,
          host: this.base.hostname,
          port: this.base.port || 80,
          method: c.method,
          path: c.path,
          headers: {
            [INTERNAL_TOKEN_HEADER]: this.token,
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : { 'content-length': 0 }),
          },
        },
        (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) });
          });
          res.on('error', (err) => fail(err));
        },
      );
      const fail = (err: Error & { code?: string }): void => {
        clearTimeout(timer);
        // A refused or unresolvable connection never carried the request; nor did a kept-alive
        // connection the peer had just closed as idle (reset before any answer: Node's advice).
        const refused = err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' || (req.reusedSocket && err.code === 'ECONNRESET' && !answered);
        reject(new PeerUnreachableError(`${err.code ?? err.message}`, sent && !refused));
      };
      const timer = setTimeout(() => {
        req.destroy(Object.assign(new Error(`no answer within ${c.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, c.timeoutMs);
      req.on('error', fail);
      req.on('socket', (s) => {
        if (!s.connecting) sent = true;
        else s.once('connect', () => (sent = true));
      });
      req.end(payload);
    });
  }
}

/** The JSON body of an answer, or undefined when it is not JSON. */
export function jsonOf(a: InternalAnswer): unknown {
  try {
    return JSON.parse(a.body.toString('utf8'));
  } catch {
    return undefined;
  }
}
