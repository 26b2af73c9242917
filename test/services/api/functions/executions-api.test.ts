// Executions over real HTTP with real sandboxes: input handling (spec §4.6), sync and async,
// results and logs, and user code that misbehaves — each contained and reported while the
// platform keeps serving other calls.
import { startTestPlatform, type TestPlatform } from '../../../helpers/platform';
import { makeZip } from '../../../helpers/zip';

jest.setTimeout(180_000);

let t: TestPlatform;
let demo: string;
let runtimes: Record<string, string>;

beforeAll(async () => {
  t = await startTestPlatform();
  demo = await t.login('demo');
  const list = (await t.request('GET', '/function/v1/runtimes', { token: demo })).json().runtimes as { id: string; name: string }[];
  runtimes = Object.fromEntries(list.map((r) => [r.name, r.id]));
});

afterAll(async () => {
  await t?.stop();
});

async function fn(files: Record<string, string>, entry: string, opts: { runtime?: string; timeout?: number; memory?: number; cpu?: number } = {}): Promise<string> {
  const form = new FormData();
  form.append('runtime_id', runtimes[opts.runtime ?? 'python3']);
  form.append('code', '{"source": "package"}');
  form.append('entry', entry);
  if (opts.timeout) form.append('timeout', String(opts.timeout));
  if (opts.memory) form.append('memory_size', String(opts.memory));
  if (opts.cpu) form.append('cpu', String(opts.cpu));
  form.append('package', new Blob([await makeZip(files)]), 'p.zip');
  const res = await fetch(`${t.platform.baseUrl}/function/v1/functions`, { method: 'POST', headers: { 'X-Auth-Token': demo }, body: form });
  const body = (await res.json()) as { id: string };
  if (res.status !== 201) throw new Error(JSON.stringify(body));
  return body.id;
}

async function run(functionId: string, input?: string, extra: Record<string, unknown> = {}) {
  const res = await t.request('POST', '/function/v1/executions', {
    token: demo,
    json: { function_id: functionId, function_version: 0, function_alias: null, sync: true, input: input ?? null, ...extra },
  });
  expect(res.status).toBe(201);
  const e = res.json();
  return { ...e, parsed: e.result ? JSON.parse(e.result) : null };
}

async function log(id: string): Promise<string> {
  const res = await t.request('GET', `/function/v1/executions/${id}/log`, { token: demo });
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text;
}

let hello: string;

beforeAll(async () => {
  hello = await fn({ 'hello.py': "def main(name='World', **kwargs):\n    return 'Hello, %s' % name\n" }, 'hello.main');
});

describe('input handling and results', () => {
  test('a JSON object becomes keyword arguments and is shown back as Python writes it', async () => {
    const e = await run(hello, '{"name":"foo"}');
    expect(e).toMatchObject({ status: 'success', input: '{"name": "foo"}', sync: true, function_version: 0 });
    expect(e.parsed.output).toBe('Hello, foo');
    expect(typeof e.parsed.duration).toBe('number');
    expect(e.result).toMatch(/^\{"duration": [\d.]+, "output": "Hello, foo"\}$/);
  });

  test('raw input and integers are one positional argument; context is always passed', async () => {
    const echo = await fn({ 'echo.py': "def main(*args, **kwargs):\n    return {'args': list(args), 'has_context': 'context' in kwargs, 'keys': sorted(kwargs)}\n" }, 'echo.main');
    expect((await run(echo, 'plain text')).parsed.output).toEqual({ args: ['plain text'], has_context: true, keys: ['context'] });
    expect((await run(echo, '6')).parsed.output).toEqual({ args: ['6'], has_context: true, keys: ['context'] });
    expect((await run(echo, '[1, 2]')).parsed.output).toEqual({ args: ['[1, 2]'], has_context: true, keys: ['context'] });
    expect((await run(echo)).parsed.output).toEqual({ args: [], has_context: true, keys: ['context'] });
    const e = await run(echo, 'plain text');
    expect(e.input).toBe('plain text');
  });

  test('async: returns running at once, then the stored result; count counts every execution', async () => {
    const res = await t.request('POST', '/function/v1/executions', { token: demo, json: { function_id: hello, sync: false, input: '{"name": "async"}' } });
    expect(res.status).toBe(201);
    expect(res.json()).toMatchObject({ status: 'running', result: null, sync: false });
    const id = res.json().id;
    let e;
    for (let i = 0; i < 100; i++) {
      e = (await t.request('GET', `/function/v1/executions/${id}`, { token: demo })).json();
      if (e.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(e.status).toBe('success');
    expect(JSON.parse(e.result).output).toBe('Hello, async');
    const f = (await t.request('GET', `/function/v1/functions/${hello}`, { token: demo })).json();
    expect(f.count).toBeGreaterThanOrEqual(2);
  });

  test('the Node.js runtime: handler(context, input), promise awaited, console captured', async () => {
    const node = await fn({ 'main.js': "exports.handler = async (context, input) => { console.log('hi from node'); return { got: input, ctx: typeof context }; };" }, 'main.handler', { runtime: 'nodejs' });
    const e = await run(node, '{"a": 1}');
    expect(e.status).toBe('success');
    expect(e.parsed.output).toEqual({ got: { a: 1 }, ctx: 'object' });
    expect(await log(e.id)).toContain('hi from node');
  });

  test('list filters with operators; unknown filter → 400; show, delete, 404 after', async () => {
    const all = (await t.request('GET', `/function/v1/executions?function_id=${hello}&status=success`, { token: demo })).json().executions;
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((e: { status: string; function_id: string }) => e.status === 'success' && e.function_id === hello)).toBe(true);
    const none = (await t.request('GET', `/function/v1/executions?function_id=${hello}&status=neq:success`, { token: demo })).json().executions;
    expect(none).toEqual([]);
    const recent = (await t.request('GET', `/function/v1/executions?created_at=gt:2020-01-01`, { token: demo })).json().executions;
    expect(recent.length).toBeGreaterThanOrEqual(all.length);
    expect((await t.request('GET', '/function/v1/executions?colour=red', { token: demo })).status).toBe(400);
    const id = all[0].id;
    expect((await t.request('DELETE', `/function/v1/executions/${id}`, { token: demo })).status).toBe(204);
    expect((await t.request('GET', `/function/v1/executions/${id}`, { token: demo })).json().faultstring).toBe(`Execution not found [id=${id}]`);
  });

  test('execution without a function → 400 with the Qinling message', async () => {
    const res = await t.request('POST', '/function/v1/executions', { token: demo, json: { function_id: null, function_alias: null } });
    expect(res.status).toBe(400);
    expect(res.json().faultstring).toBe('Either function_alias or function_id must be provided.');
  });
});

describe('user code that fails or misbehaves', () => {
  test('missing entry module and missing function: failed with a clear message', async () => {
    const noModule = await fn({ 'hello.py': 'def main(**kw):\n    return 1\n' }, 'nothere.main');
    const e1 = await run(noModule);
    expect(e1.status).toBe('failed');
    expect(String(e1.parsed.output)).toContain('nothere');
    const noFunc = await fn({ 'hello.py': 'def main(**kw):\n    return 1\n' }, 'hello.nofunc');
    const e2 = await run(noFunc);
    expect(e2.status).toBe('failed');
    expect(String(e2.parsed.output)).toContain('nofunc');
  });

  test('a syntax error: failed result, traceback in the log', async () => {
    const id = await fn({ 'bad.py': 'def main(**kw)\n    return 1\n' }, 'bad.main');
    const e = await run(id);
    expect(e.status).toBe('failed');
    const text = await log(e.id);
    expect(text).toContain('SyntaxError');
    expect(text.split('\n')[0]).toBe(`Start execution: ${e.id}`);
  });

  test('an exception: failed, output is the message, traceback logged, prints kept', async () => {
    const id = await fn({ 'boom.py': "def main(**kw):\n    print('before the fall')\n    raise ValueError('it broke')\n" }, 'boom.main');
    const e = await run(id);
    expect(e.status).toBe('failed');
    expect(e.parsed.output).toContain('it broke');
    const text = await log(e.id);
    expect(text).toContain('before the fall');
    expect(text).toContain('Traceback');
    expect(text.trim().split('\n').pop()).toBe(`Finished execution: ${e.id}`);
  });

  const RESOURCES = 'Function execution failed because of too much resource consumption';
  const TIMEOUT = 'Function execution timeout.';
  test.each([
    // Under its CPU quota a fork bomb may reach the timeout before the process cap: either ends it.
    ['a fork bomb', "import os\ndef main(**kw):\n    while True:\n        os.fork()\n", {}, [RESOURCES, TIMEOUT]],
    // Touched memory (a string is written, unlike calloc'd zero pages) hits the cgroup limit; at
    // the default 0.1 CPU filling it takes longer than the timeout, so this one gets 0.3 CPU.
    ['unbounded allocation', "def main(**kw):\n    a = []\n    while True:\n        a.append('x' * (1 << 20))\n", { cpu: 300, timeout: 20 }, [RESOURCES]],
    ['unbounded printing', "def main(**kw):\n    while True:\n        print('x' * 1000)\n", { timeout: 3 }, [TIMEOUT]],
  ])('%s is contained and reported; other calls keep working', async (_name, code, opts, outputs) => {
    const id = await fn({ 'bad.py': code }, 'bad.main', { timeout: 5, ...opts });
    const [bad, good] = await Promise.all([run(id), run(hello, '{"name": "neighbour"}')]);
    expect(bad.status).toBe('failed');
    expect(outputs).toContain(bad.parsed.output);
    expect(good.status).toBe('success');
    expect(good.parsed.output).toBe('Hello, neighbour');
    expect(Buffer.byteLength(await log(bad.id))).toBeLessThan(t.platform.config.limits.logMaxBytes + 4096);
    expect((await run(hello)).status).toBe('success');
  });

  test('host files and host services are out of reach', async () => {
    const id = await fn(
      {
        'probe.py': `import socket
def main(**kw):
    out = {}
    for p in ['/etc/shadow', '/root/.bashrc', '${t.dataDir}/openrc']:
        try:
            open(p).read()
            out[p] = 'read'
        except Exception as e:
            out[p] = type(e).__name__
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect(('127.0.0.1', 5432))
        out['pg'] = 'connected'
    except Exception as e:
        out['pg'] = type(e).__name__
    return out
`,
      },
      'probe.main',
    );
    const e = await run(id);
    expect(e.status).toBe('success');
    for (const [k, v] of Object.entries(e.parsed.output as Record<string, string>)) {
      expect([k, v]).not.toEqual([k, 'read']);
      expect([k, v]).not.toEqual([k, 'connected']);
    }
  });

  test('context os_session reaches the object store as the caller', async () => {
    const id = await fn(
      {
        'store.py': `import swiftclient
def main(context, **kw):
    conn = swiftclient.Connection(session=context['os_session'], os_options={'region_name': 'RegionOne'})
    conn.put_container('from_function')
    conn.put_object('from_function', 'note.txt', contents=b'written inside the sandbox')
    return conn.get_object('from_function', 'note.txt')[1].decode()
`,
      },
      'store.main',
    );
    const e = await run(id);
    expect(e).toMatchObject({ status: 'success' });
    expect(e.parsed.output).toBe('written inside the sandbox');
    const account = `AUTH_${t.platform.credentials.demo.projectId}`;
    const obj = await t.request('GET', `/v1/${account}/from_function/note.txt`, { token: demo });
    expect(obj.text).toBe('written inside the sandbox');
  });
});
