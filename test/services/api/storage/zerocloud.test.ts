// ZeroCloud's three flows from its own guide ("Running code on ZeroCloud"), driven with plain
// /usr/bin/curl exactly as the guide writes the commands, against real sandboxes.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { startStorage, TOKEN_A, type StorageHarness } from './harness';

const run = promisify(execFile);
let h: StorageHarness;
let dir: string;

beforeAll(async () => {
  h = await startStorage({ runs: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-zvm-seed-'));
});
afterAll(async () => {
  await h.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs a command line from the guide in `dir` with the guide's two variables set; parses `curl -i` output. */
async function shell(line: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { stdout } = await run('/bin/bash', ['-c', line], {
    cwd: dir,
    env: { PATH: '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8', OS_AUTH_TOKEN: TOKEN_A, OS_STORAGE_URL: h.accountUrl },
  });
  const sep = stdout.indexOf('\r\n\r\n');
  if (sep === -1) return { status: 0, headers: {}, body: stdout };
  const head = stdout.slice(0, sep).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of head.slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(head[0].split(' ')[1]), headers, body: stdout.slice(sep + 4) };
}

const write = (name: string, text: string): void => {
  fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  fs.writeFileSync(path.join(dir, name), text);
};

test('POST a Python script: it prints its two lines', async () => {
  write('example', '#!file://python2.7:python\nimport sys\nprint("Hello from ZeroVM!")\nprint("sys.platform is \'%s\'" % sys.platform)\n');
  const r = await shell('curl -i -X POST -H "X-Auth-Token: $OS_AUTH_TOKEN" -H "X-Zerovm-Execute: 1.0" -H "Content-Type: application/python" --data-binary @example $OS_STORAGE_URL');
  expect(r.status).toBe(200);
  expect(r.body).toBe("Hello from ZeroVM!\nsys.platform is 'linux'\n");
  expect(r.headers['content-type']).toBe('text/plain');
  expect(r.headers['x-nexe-system']).toBe('script');
  expect(r.headers['x-nexe-status']).toBe('ok.');
  expect(r.headers['x-nexe-retcode']).toBe('0');
});

test('POST a ZeroVM image: the tar with boot/system.map, main.py and mymath.py prints 5 + 6 = 11', async () => {
  write('mymath.py', 'def add(a, b):\n    return a + b\n');
  write('main.py', 'import mymath\na = 5\nb = 6\nthe_sum = mymath.add(a, b)\nprint("%s + %s = %s" % (a, b, the_sum))\n');
  write(
    'boot/system.map',
    '[{\n    "name": "example",\n    "exec": {\n        "path": "file://python2.7:python",\n        "args": "main.py"\n    },\n    "devices": [\n        {"name": "python2.7"},\n        {"name": "stdout"}\n    ]\n}]\n',
  );
  await shell('tar cf example.tar boot/system.map main.py mymath.py');
  const r = await shell('curl -i -X POST -H "Content-Type: application/x-tar" -H "X-Auth-Token: $OS_AUTH_TOKEN" -H "X-Zerovm-Execute: 1.0" --data-binary @example.tar $OS_STORAGE_URL');
  expect(r.status).toBe(200);
  expect(r.body).toBe('5 + 6 = 11\n');
  expect(r.headers['x-nexe-system']).toBe('example');
});

test('POST a job description to an uploaded application: each row of data1.csv, then of data2.csv', async () => {
  fs.rmSync(path.join(dir, 'boot'), { recursive: true });
  write(
    'main.py',
    "import csv\nwith open('/dev/input') as fp:\n    reader = csv.reader(fp)\n\n    for id, name, email, balance in reader:\n        print('%(name)s: %(balance)s' % dict(name=name, balance=balance))\n",
  );
  await shell('rm -f example.tar && tar cf example.tar main.py');
  write('data1.csv', 'id,name,email,balance\n1,Alice,alice@example.com,1000\n2,Bob,bob@example.com,-500\n');
  write('data2.csv', 'id,name,email,balance\n3,David,david@example.com,15000\n4,Erin,erin@example.com,25000\n');
  // The guide's own uploads, with the real swift CLI (it reads the same two variables).
  await shell('swift post example');
  await shell('swift upload example example.tar');
  await shell('swift upload example data1.csv data2.csv');
  expect((await h.req('GET', 'example')).text.split('\n').filter(Boolean).sort()).toEqual(['data1.csv', 'data2.csv', 'example.tar']);
  const job = (input: string): string =>
    `[{\n    "name": "example",\n    "exec": {\n        "path": "file://python2.7:python",\n        "args": "main.py"\n    },\n    "devices": [\n        {"name": "python2.7"},\n        {"name": "stdout"},\n        {"name": "input", "path": "swift://~/example/${input}"},\n        {"name": "image", "path": "swift://~/example/example.tar"}\n    ]\n}]\n`;
  const curl = 'curl -i -X POST -H "Content-Type: application/json" \\\n  -H "X-Auth-Token: $OS_AUTH_TOKEN" -H "X-Zerovm-Execute: 1.0" \\\n  --data-binary @job.json $OS_STORAGE_URL';
  write('job.json', job('data1.csv'));
  const r1 = await shell(curl);
  expect(r1.status).toBe(200);
  expect(r1.body).toBe('name: balance\nAlice: 1000\nBob: -500\n');
  write('job.json', job('data2.csv'));
  const r2 = await shell(curl);
  expect(r2.status).toBe(200);
  expect(r2.body).toBe('name: balance\nDavid: 15000\nErin: 25000\n');
});
