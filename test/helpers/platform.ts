// An in-process platform on 127.0.0.1:0 with a fresh data directory and PGlite, plus a small
// HTTP client that authenticates through the real /identity/v3 like any client would.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../services/core/config';
import { startPlatform, type Platform } from '../../services/platform';

export interface TestPlatform {
  platform: Platform;
  dataDir: string;
  /** Token for a user (password auth, project scope) via the Keystone API. */
  login(user: 'admin' | 'demo' | { name: string; password: string; project: string }): Promise<string>;
  request(method: string, urlPath: string, opts?: { token?: string; json?: unknown; body?: Buffer | string; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; text: string; json: () => any }>;
  stop(): Promise<void>;
}

export async function startTestPlatform(env: Record<string, string> = {}, dataDir?: string): Promise<TestPlatform> {
  const dir = dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-test-'));
  const config = loadConfig({}, { CAIRN_PORT: '0', CAIRN_DATA_DIR: dir, CAIRN_POOL_SIZE: '1', ...env });
  const platform = await startPlatform(config);
  const base = platform.baseUrl;

  const request: TestPlatform['request'] = async (method, urlPath, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token) headers['X-Auth-Token'] = opts.token;
    let body: Buffer | string | undefined = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['Content-Type'] = 'application/json';
    }
    const res = await fetch(`${base}${urlPath}`, { method, headers, body });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
  };

  const login: TestPlatform['login'] = async (who) => {
    const c = platform.credentials;
    const u = who === 'admin' ? { name: c.admin.userName, password: c.admin.password, project: c.admin.projectName } : who === 'demo' ? { name: c.demo.userName, password: c.demo.password, project: c.demo.projectName } : who;
    const res = await request('POST', '/identity/v3/auth/tokens', {
      json: {
        auth: {
          identity: { methods: ['password'], password: { user: { name: u.name, password: u.password, domain: { name: 'Default' } } } },
          scope: { project: { name: u.project, domain: { name: 'Default' } } },
        },
      },
    });
    if (res.status !== 201) throw new Error(`login failed: ${res.status} ${res.text}`);
    return res.headers.get('x-subject-token') as string;
  };

  return {
    platform,
    dataDir: dir,
    login,
    request,
    async stop() {
      await platform.stop();
    },
  };
}
