// Starts the platform exactly as `npm start` does (a child process running services/cli.ts
// start) on a free loopback port with a fresh data directory, and gives tests the environment
// of the openrc file it writes.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../helpers/process';

export const ROOT = path.resolve(__dirname, '../..');

export interface RunningPlatform {
  child: ChildProcess;
  baseUrl: string;
  port: number;
  dataDir: string;
  output: () => string;
  /** Environment for the openstack/swift CLIs, from `<dataDir>/openrc` (the demo user). */
  openrc: (file?: string) => Record<string, string>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

export async function startPlatformProcess(opts: { dataDir?: string; port?: number; env?: Record<string, string> } = {}): Promise<RunningPlatform> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-'));
  const port = opts.port ?? (await freePort());
  // `npm start` runs `node --import tsx services/cli.ts start`: one process, as here.
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli.ts', 'start'], {
    cwd: ROOT,
    env: { ...process.env, CAIRN_PORT: String(port), CAIRN_DATA_DIR: dataDir, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`platform exited with ${child.exitCode}:\n${out}`);
    if (/Cairn \S+ is running at/.test(out)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`platform did not start within 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    baseUrl,
    port,
    dataDir,
    output: () => out,
    openrc: (file = 'openrc') => parseOpenrc(fs.readFileSync(path.join(dataDir, file), 'utf8')),
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}

function parseOpenrc(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2].replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
  }
  return env;
}
