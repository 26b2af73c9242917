// Sandboxes die with the platform, even when its process is SIGKILLed (no stop() runs), and a
// restarted executor removes the cgroups the dead one left.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SandboxExecutor } from '../../../services/executor/sandbox-executor';
import { testConfig } from './fixtures';

const alive = (pid: number): boolean => fs.existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));

it('kills every sandbox when the platform process is SIGKILLed, and cleans its cgroups on the next start', async () => {
  const tsx = path.join(__dirname, '../../../node_modules/.bin/tsx');
  const child = spawn(tsx, [path.join(__dirname, 'hold-executor.fixture.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
  });
  const pids = JSON.parse(line) as number[];
  expect(pids.length).toBeGreaterThan(0);
  // tsx runs the fixture in a node child of its own; kill that one, the executor's process.
  const group = fs.readdirSync('/sys/fs/cgroup/pids').find((d) => d.startsWith('cairn-') && pids.length && fs.existsSync(`/sys/fs/cgroup/pids/${d}`) && fs.readdirSync(`/sys/fs/cgroup/pids/${d}`).some((sb) => sb.startsWith('sb-') && fs.readFileSync(`/sys/fs/cgroup/pids/${d}/${sb}/cgroup.procs`, 'utf8').includes(String(pids[0]))))!;
  const owner = Number(/^cairn-(\d+)/.exec(group)![1]);
  process.kill(owner, 'SIGKILL');
  const deadline = Date.now() + 5000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(pids.filter(alive)).toEqual([]);
  child.kill('SIGKILL');

  const next = new SandboxExecutor(testConfig({ CAIRN_POOL_SIZE: '0' }), { fetchCode: async () => Buffer.alloc(0), apiSocketPath: '', apiPort: 8080 });
  await next.start();
  expect(fs.existsSync(`/sys/fs/cgroup/pids/${group}`)).toBe(false);
  expect(fs.existsSync(`/sys/fs/cgroup/memory/${group}`)).toBe(false);
  await next.stop();
}, 30_000);
