// `npm start`'s behaviour at the edges: a missing system dependency is one clear message with
// the install command; SIGINT stops the platform cleanly with no sandbox left behind.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, startPlatformProcess } from './platform-process';

jest.setTimeout(120_000);

test('without bubblewrap: one message naming the install command, exit 1, no stack trace', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-nobwrap-'));
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'services/cli.ts', 'start'], { cwd: ROOT, env: { ...process.env, CAIRN_BWRAP: '/nonexistent/bwrap', CAIRN_DATA_DIR: dataDir, CAIRN_PORT: '0' } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code) : 0, output: stdout + stderr }),
    );
  });
  expect(code).toBe(1);
  expect(output).toContain('apt-get install bubblewrap');
  expect(output).not.toMatch(/^\s+at /m);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('a bad setting is reported by name before anything starts', async () => {
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'services/cli.ts', 'start'], { cwd: ROOT, env: { ...process.env, CAIRN_PORT: 'eighty' } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code) : 0, output: stdout + stderr }),
    );
  });
  expect(code).toBe(1);
  expect(output).toContain('CAIRN_PORT=eighty');
  expect(output).not.toMatch(/^\s+at /m);
});

test('SIGINT: a clean stop, exit 0, no sandbox process left', async () => {
  const p = await startPlatformProcess();
  const health = await fetch(`${p.baseUrl}/healthz`);
  expect(health.status).toBe(200);
  expect(await p.stop('SIGINT')).toBe(0);
  expect(p.output()).toContain('SIGINT: stopping Cairn');
  let left = '';
  try {
    left = execFileSync('pgrep', ['-af', p.dataDir], { encoding: 'utf8' });
  } catch {
    left = '';
  }
  expect(left.split('\n').filter((l) => l && !l.includes('pgrep'))).toEqual([]);
});
