// ZeroCloud job features beyond the guide's flows: wildcards (one node per object, `*` carried
// into output paths), `connect` (pipes between sandboxes), X-Zerovm-Source, open/1.0, and each
// kind of bad input with its status.
import { useFileHandOff } from '../../../../services/api/storage/run-input';
import { startStorage, type StorageHarness } from './harness';

let h: StorageHarness;
beforeAll(async () => {
  h = await startStorage({ runs: true, env: { CAIRN_ZEROCLOUD_TIMEOUT: '2' } });
  expect((await h.req('PUT', 'logs')).status).toBe(201);
  expect((await h.req('PUT', 'out')).status).toBe(201);
  expect((await h.req('PUT', 'apps')).status).toBe(201);
  for (let i = 1; i <= 4; i++) expect((await h.req('PUT', `logs/log_${i}.txt`, { body: `c\nb\na${i}\n` })).status).toBe(201);
  expect((await h.req('PUT', 'logs/other.csv', { body: 'x' })).status).toBe(201);
});
afterAll(() => h.stop());

const post = (job: unknown, headers: Record<string, string> = {}) =>
  h.req('POST', '', {
    headers: { 'X-Zerovm-Execute': '1.0', 'Content-Type': 'application/json', ...headers },
    body: typeof job === 'string' ? job : JSON.stringify(job),
  });

// Single-quoted in exec.args, which is split as a shell would: newlines survive.
const py = (code: string) => ({ path: 'file://python3:python', args: `-c '${code.replace(/'/g, `'\\''`)}'` });

test('a wildcard input makes one node per object and fills * in the output path', async () => {
  const r = await post([
    {
      name: 'sort',
      exec: py('import sys; data = open("/dev/input").read().split(); sys.stdout.write("\\n".join(sorted(data)) + "\\n")'),
      devices: [
        { name: 'python3' },
        { name: 'input', path: 'swift://~/logs/log_*.txt' },
        { name: 'stdout', path: 'swift://~/out/sorted_*.txt', content_type: 'text/plain', meta: { Source: 'zvm' } },
      ],
    },
  ]);
  expect(r.status).toBe(200);
  expect(r.headers.get('x-nexe-system')).toBe('sort-1,sort-2,sort-3,sort-4');
  expect(r.headers.get('x-nexe-status')).toBe('ok.,ok.,ok.,ok.');
  expect(r.headers.get('x-nexe-retcode')).toBe('0,0,0,0');
  for (let i = 1; i <= 4; i++) {
    const o = await h.req('GET', `out/sorted_${i}.txt`);
    expect(o.status).toBe(200);
    expect(o.text).toBe(`a${i}\nb\nc\n`);
    expect(o.headers.get('content-type')).toBe('text/plain');
    expect(o.headers.get('x-object-meta-source')).toBe('zvm');
  }
});

test('stdin and input read the same bytes linked from the fs backend or streamed (other backends); a read-only file', async () => {
  const job = [
    {
      name: 'cat',
      exec: py('import sys\ntry:\n    open("/dev/input", "ab").write(b"x")\n    w = "writable"\nexcept OSError:\n    w = "read-only"\nsys.stdout.write(sys.stdin.read() + open("/dev/input").read() + w)'),
      devices: [{ name: 'python3' }, { name: 'stdin', path: 'swift://~/logs/log_1.txt' }, { name: 'input', path: 'swift://~/logs/log_2.txt' }, { name: 'stdout', content_type: 'text/plain' }],
    },
  ];
  const linked = await post(job);
  expect(linked.status).toBe(200);
  expect(linked.text).toBe('c\nb\na1\nc\nb\na2\nread-only');
  useFileHandOff(false);
  try {
    const streamed = await post(job);
    expect(streamed.text).toBe(linked.text);
  } finally {
    useFileHandOff(true);
  }
  expect((await h.req('GET', 'logs/log_2.txt')).text).toBe('c\nb\na2\n');
});

test('connect: mappers pipe into a reducer, which answers with the total', async () => {
  const r = await post([
    {
      name: 'map',
      exec: py('import os; n = sum(1 for _ in open("/dev/input")); [open("/dev/out/" + p, "w").write(str(n)) for p in os.listdir("/dev/out")]'),
      devices: [{ name: 'python3' }, { name: 'input', path: 'swift://~/logs/log_*.txt' }],
      connect: ['reduce'],
    },
    {
      name: 'reduce',
      exec: py('import os; ins = sorted(os.listdir("/dev/in")); print(",".join(ins), sum(int(open("/dev/in/" + p).read()) for p in ins))'),
      devices: [{ name: 'python3' }, { name: 'stdout', content_type: 'text/plain' }],
    },
  ]);
  expect(r.status).toBe(200);
  expect(r.text).toBe('map-1,map-2,map-3,map-4 12\n');
  expect(r.headers.get('content-type')).toBe('text/plain');
  expect(r.headers.get('x-nexe-system')).toBe('map-1,map-2,map-3,map-4,reduce');
  expect(r.headers.get('x-nexe-retcode')).toBe('0,0,0,0,0');
  // Total seconds first, then `<seconds>, <ten counters>` per node.
  expect(r.headers.get('x-nexe-cdr-line')).toMatch(/^\d+\.\d{3}(, \d+\.\d{3}, 0 0 0 0 0 0 0 0 0 0){5}$/);
});

test('connect: a sender that exits without opening its pipe gives the receiver end-of-file, not a hang', async () => {
  const r = await post([
    { name: 'quiet', count: 2, exec: py('pass'), devices: [{ name: 'python3' }], connect: ['sink'] },
    {
      name: 'sink',
      exec: py('import os; print([(p, open("/dev/in/" + p).read()) for p in sorted(os.listdir("/dev/in"))])'),
      devices: [{ name: 'python3' }, { name: 'stdout', content_type: 'text/plain' }],
    },
  ]);
  expect(r.status).toBe(200);
  expect(r.text).toBe("[('quiet-1', ''), ('quiet-2', '')]\n");
});

test('X-Zerovm-Source runs a stored script; the request body becomes its stdin', async () => {
  expect((await h.req('PUT', 'apps/upper.py', { headers: { 'Content-Type': 'application/python' }, body: '#!file://python2.7:python\nimport sys\nsys.stdout.write(sys.stdin.read().upper())\n' })).status).toBe(201);
  const r = await h.req('POST', '', { headers: { 'X-Zerovm-Execute': '1.0', 'X-Zerovm-Source': 'swift://~/apps/upper.py' }, body: 'hello' });
  expect(r.status).toBe(200);
  expect(r.text).toBe('HELLO');
  const onObject = await h.req('POST', 'logs/log_1.txt', { headers: { 'X-Zerovm-Execute': '1.0', 'Content-Type': 'application/python' }, body: '#!file://python2.7:python\nimport sys\nsys.stdout.write(sys.stdin.read().upper())\n' });
  expect(onObject.status).toBe(200);
  expect(onObject.text).toBe('C\nB\nA1\n');
  const bad = await h.req('POST', '', { headers: { 'X-Zerovm-Execute': '1.0', 'X-Zerovm-Source': 'http://example.com/x' } });
  expect(bad.status).toBe(412);
});

test('open/1.0: a GET runs the template registered for the object type', async () => {
  expect((await h.req('PUT', '.zvm')).status).toBe(201);
  const template = [
    { name: 'wc', exec: py('import sys; print(len(open("/dev/input").read()), sys.argv[1])') , devices: [{ name: 'python3' }, { name: 'input', path: '{.object_path}' }, { name: 'stdout', content_type: 'text/plain' }] },
  ];
  template[0].exec.args += ' {.label=bytes}';
  expect((await h.req('PUT', '.zvm/text/csv/config', { body: JSON.stringify(template) })).status).toBe(201);
  expect((await h.req('PUT', 'logs/data.csv', { headers: { 'Content-Type': 'text/csv' }, body: 'a,b\n1,2\n' })).status).toBe(201);
  const r = await h.req('GET', 'logs/data.csv?label=chars', { headers: { 'X-Zerovm-Execute': 'open/1.0' } });
  expect(r.status).toBe(200);
  expect(r.text).toBe('8 chars\n');
  const none = await h.req('GET', 'logs/log_1.txt', { headers: { 'X-Zerovm-Execute': 'open/1.0' } });
  expect(none.status).toBe(404);
  expect(none.text).toContain('No application registered for text/plain');
});

describe('bad input', () => {
  test('invalid JSON is 422', async () => {
    const r = await post('[{"name": "x",');
    expect(r.status).toBe(422);
    expect(r.text).toContain('Cannot parse the job description');
  });

  test('a node without name or exec is 400 naming the field', async () => {
    const noName = await post([{ exec: { path: 'file://python3:python' } }]);
    expect(noName.status).toBe(400);
    expect(noName.text).toContain('has no &quot;name&quot;');
    const noExec = await post([{ name: 'a' }]);
    expect(noExec.status).toBe(400);
    expect(noExec.text).toContain('node &quot;a&quot; has no &quot;exec&quot;');
  });

  test('connect to an unknown node is 400', async () => {
    const r = await post([{ name: 'a', exec: { path: 'file://python3:python' }, connect: ['nobody'] }]);
    expect(r.status).toBe(400);
    expect(r.text).toContain('connects to unknown node &quot;nobody&quot;');
  });

  test('a wildcard that matches nothing is 400', async () => {
    const r = await post([{ name: 'a', exec: { path: 'file://python3:python' }, devices: [{ name: 'input', path: 'swift://~/logs/none_*.txt' }] }]);
    expect(r.status).toBe(400);
    expect(r.text).toContain('No objects found in path swift://~/logs/none_*.txt');
  });

  test('an Etag that is not the md5 of the job is 422', async () => {
    const r = await post([{ name: 'a', exec: { path: 'file://python3:python' } }], { Etag: '0123456789abcdef0123456789abcdef' });
    expect(r.status).toBe(422);
  });

  test('a job over the 64 KiB cap is 413', async () => {
    const r = await post(JSON.stringify([{ name: 'a', exec: { path: 'file://python3:python', args: 'x'.repeat(70 * 1024) } }]));
    expect(r.status).toBe(413);
  });

  test('a tar without boot/system.map is 400', async () => {
    const { execFileSync } = await import('node:child_process');
    const tar = execFileSync('/usr/bin/tar', ['cf', '-', '-C', '/etc', 'hostname']);
    const r = await h.req('POST', '', { headers: { 'X-Zerovm-Execute': '1.0', 'Content-Type': 'application/x-tar' }, body: tar });
    expect(r.status).toBe(400);
    expect(r.text).toContain('System boot map was not found');
  });

  test('a script without #! is 400, and a request without Content-Type too', async () => {
    const r = await h.req('POST', '', { headers: { 'X-Zerovm-Execute': '1.0', 'Content-Type': 'application/python' }, body: 'print(1)\n' });
    expect(r.status).toBe(400);
    expect(r.text).toContain('the first line must be #!');
    const untyped = await h.req('POST', '', { headers: { 'X-Zerovm-Execute': '1.0' } });
    expect(untyped.status).toBe(400);
  });

  test('GET with the job controller header is 501', async () => {
    expect((await h.req('GET', '', { headers: { 'X-Zerovm-Execute': '1.0' } })).status).toBe(501);
  });

  test('a failing program returns its stderr, never an empty body, and stores nothing', async () => {
    const r = await post([
      { name: 'boom', exec: py('raise SystemExit("went wrong")'), devices: [{ name: 'python3' }, { name: 'stdout', path: 'swift://~/out/never.txt' }] },
    ]);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-nexe-retcode')).toBe('1');
    expect(r.headers.get('x-nexe-error')).toContain('boom: exit code 1');
    expect(r.text).toContain('--- stderr of boom ---\nwent wrong');
    expect((await h.req('GET', 'out/never.txt')).status).toBe(404);
  });

  test('a program past the time limit is killed: 500 naming the cause', async () => {
    const r = await post([{ name: 'slow', exec: py('import time\nwhile True: time.sleep(1)'), devices: [{ name: 'python3' }, { name: 'stdout' }] }]);
    expect(r.status).toBe(500);
    expect(r.text).toContain('node slow: killed after the');
  });

  test('the sandbox has no network and no host files', async () => {
    const code = [
      'import socket, os',
      'try:',
      '    socket.create_connection(("1.1.1.1", 80), timeout=2); print("net: open")',
      'except OSError as e: print("net: blocked")',
      'print("passwd:", os.path.exists("/etc/passwd"), "root:", os.path.exists("/root"))',
      'print("ifaces:", sorted(n for _, n in socket.if_nameindex()))',
    ].join('\n');
    const r = await post([{ name: 'probe', exec: py(code), devices: [{ name: 'python3' }, { name: 'stdout' }] }]);
    expect(r.status).toBe(200);
    expect(r.text).toBe("net: blocked\npasswd: False root: False\nifaces: ['lo']\n");
  });

  test('another account in a swift:// path is 403', async () => {
    const r = await post([{ name: 'a', exec: { path: 'file://python3:python' }, devices: [{ name: 'input', path: 'swift://AUTH_someone/c/o' }] }]);
    expect(r.status).toBe(403);
  });
});
