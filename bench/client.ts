// A lean keep-alive HTTP client, so the benchmark measures the platform rather than fetch().
import * as http from 'node:http';

export class BenchClient {
  private readonly agent: http.Agent;
  constructor(private readonly base: URL, private token = '', maxSockets = 64) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  setToken(token: string): void {
    this.token = token;
  }

  request(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
      const req = http.request(
        {
          agent: this.agent,
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          headers: { ...(this.token ? { 'X-Auth-Token': this.token } : {}), ...(payload ? { 'Content-Length': payload.length } : {}), ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  async json<T = any>(method: string, path: string, value?: unknown): Promise<{ status: number; body: T }> {
    const res = await this.request(method, path, value === undefined ? undefined : JSON.stringify(value), value === undefined ? {} : { 'Content-Type': 'application/json' });
    return { status: res.status, body: res.body.length ? (JSON.parse(res.body.toString()) as T) : (undefined as T) };
  }

  close(): void {
    this.agent.destroy();
  }
}
