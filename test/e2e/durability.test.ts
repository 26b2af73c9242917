// Durability of a platform started as `npm start` starts it: a clean stop and start keeps
// functions, executions, logs and objects; a SIGKILL during an execution leaves no sandbox
// behind and, after restart, the execution is `error` with a reason, never stuck `running`.
import { execFileSync } from 'node:child_process';
import { makeZip } from '../helpers/zip';
import { startPlatformProcess, type RunningPlatform } from './platform-process';

jest.setTimeout(180_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Processes whose command line names this platform's data directory (its sandboxes). */
function processesOf(dataDir: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', dataDir], { encoding: 'utf8' }).trim().split('\n').filter((l) => l && !l.includes('pgrep'));
  } catch {
    return [];
  }
}

async function api(p: RunningPlatform) {
  const rc = p.openrc();
  const auth = await fetch(`${p.baseUrl}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: rc.OS_USERNAME, password: rc.OS_PASSWORD, domain: { name: 'Default' } } } },
        scope: { project: { name: rc.OS_PROJECT_NAME, domain: { name: 'Default' } } },
      },
    }),
  });
  const token = auth.headers.get('x-subject-token') as string;
  const projectId = ((await auth.json()) as { token: { project: { id: string } } }).token.project.id;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${p.baseUrl}${path}`, {
      method,
      headers: { 'X-Auth-Token': token, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) };
  };
  const createFunction = async (name: string, code: string) => {
    const runtimes = (await call('GET', '/function/v1/runtimes')).json().runtimes as { id: string; name: string }[];
    const form = new FormData();
    form.append('runtime_id', runtimes.find((r) => r.name === 'python3')!.id);
    form.append('code', '{"source": "package"}');
    form.append('entry', `${name}.main`);
    form.append('name', name);
    form.append('timeout', '60');
    form.append('package', new Blob([await makeZip({ [`${name}.py`]: code })]), 'p.zip');
    const res = await fetch(`${p.baseUrl}/function/v1/functions`, { method: 'POST', headers: { 'X-Auth-Token': token }, body: form });
    return ((await res.json()) as { id: string }).id;
  };
  return { token, projectId, call, createFunction };
}

test('stop and start: functions, executions, logs and objects are intact', async () => {
  const first = await startPlatformProcess();
  const a = await api(first);
  const fid = await a.createFunction('greet', "def main(name='World', **kw):\n    print('greeting', name)\n    return 'Hello, ' + name\n");
  const exec = (await a.call('POST', '/function/v1/executions', { function_id: fid, input: '{"name": "disk"}' })).json();
  expect(exec.status).toBe('success');
  await a.call('PUT', `/v1/AUTH_${a.projectId}/keep`);
  const put = await fetch(`${first.baseUrl}/v1/AUTH_${a.projectId}/keep/me.txt`, { method: 'PUT', headers: { 'X-Auth-Token': a.token }, body: 'still here' });
  expect(put.status).toBe(201);
  expect(await first.stop('SIGTERM')).toBe(0);
  expect(processesOf(first.dataDir)).toEqual([]);

  const second = await startPlatformProcess({ dataDir: first.dataDir });
  try {
    const b = await api(second);
    expect((await b.call('GET', `/function/v1/functions/${fid}`)).json()).toMatchObject({ id: fid, name: 'greet', count: 1 });
    expect((await b.call('GET', `/function/v1/executions/${exec.id}`)).json()).toMatchObject({ status: 'success', result: exec.result });
    expect((await b.call('GET', `/function/v1/executions/${exec.id}/log`)).text).toContain('greeting disk');
    expect((await b.call('GET', `/v1/AUTH_${a.projectId}/keep/me.txt`)).text).toBe('still here');
    expect((await b.call('POST', '/function/v1/executions', { function_id: fid })).json().status).toBe('success');
  } finally {
    await second.stop();
  }
});

test('SIGKILL during an execution: no sandbox left, and after restart it is error with a reason', async () => {
  const first = await startPlatformProcess();
  const a = await api(first);
  const fid = await a.createFunction('slow', "import time\ndef main(**kw):\n    print('started, sleeping')\n    time.sleep(50)\n");
  const pending = a.call('POST', '/function/v1/executions', { function_id: fid }).catch(() => undefined);
  let running: { id: string } | undefined;
  for (let i = 0; i < 100 && !running; i++) {
    await sleep(100);
    running = (await a.call('GET', '/function/v1/executions?status=running')).json().executions[0];
  }
  expect(running).toBeDefined();
  await sleep(500);
  expect(processesOf(first.dataDir).length).toBeGreaterThan(0);
  await first.stop('SIGKILL');
  await pending;
  for (let i = 0; i < 50 && processesOf(first.dataDir).length; i++) await sleep(100);
  expect(processesOf(first.dataDir)).toEqual([]);

  const second = await startPlatformProcess({ dataDir: first.dataDir });
  try {
    const b = await api(second);
    const e = (await b.call('GET', `/function/v1/executions/${running!.id}`)).json();
    expect(e.status).toBe('error');
    expect(JSON.parse(e.result).output).toBeTruthy();
    expect((await b.call('GET', `/function/v1/executions/${running!.id}/log`)).text).toContain('interrupted');
  } finally {
    await second.stop();
  }
});
