// Storlets: deployment validation, X-Run-Storlet on GET, PUT and copy with parameters, ranges and
// logs, and the failure modes (raises, no metadata, timeout, network and host files), all through
// real HTTP and real sandboxes. The storlets are written against openstack/storlets' Python
// interface and run unchanged.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { useFileHandOff } from '../../../../services/api/storage/run-input';
import { startStorage, TOKEN_A, TOKEN_B, type StorageHarness } from './harness';
import { NO_METADATA, RAISER, SLEEPER } from '../../../helpers/storlet-sources';

const run = promisify(execFile);

let h: StorageHarness;

const STORLET_HEADERS = (main: string, extra: Record<string, string> = {}): Record<string, string> => ({
  'Content-Type': 'application/octet-stream',
  'X-Object-Meta-Storlet-Language': 'Python',
  'X-Object-Meta-Storlet-Interface-Version': '1.0',
  'X-Object-Meta-Storlet-Object-Metadata': 'no',
  'X-Object-Meta-Storlet-Main': main,
  ...extra,
});

const UPPER = `
import os

class UpperStorlet(object):
    def __init__(self, logger):
        self.logger = logger

    def __call__(self, in_files, out_files, params):
        meta = in_files[0].get_metadata()
        meta['transformed'] = 'upper'
        meta['seen-keys'] = ','.join(sorted(k for k in in_files[0].get_metadata()))
        with open(os.path.join(params['storlet_execution_path'], 'greeting.txt')) as f:
            greeting = f.read().strip()
        out_files[0].set_metadata(meta)
        self.logger.info('params %s' % sorted((k, v) for k, v in params.items() if k != 'storlet_execution_path'))
        data = in_files[0].read()
        out_files[0].write(greeting.encode() + b' ' + data.upper() + params.get('suffix', '').encode())
        in_files[0].close()
        out_files[0].close()
`;

const CONCAT = `
class Concat(object):
    def __init__(self, logger):
        pass

    def __call__(self, in_files, out_files, params):
        out_files[0].set_metadata({'inputs': str(len(in_files)), 'colors': ','.join(f.get_metadata().get('color', '-') for f in in_files)})
        for f in in_files:
            out_files[0].write(f.read())
        out_files[0].close()
`;


const SNOOP = `
import os, socket

class Snoop(object):
    def __init__(self, logger):
        pass

    def __call__(self, in_files, out_files, params):
        report = []
        try:
            socket.create_connection(('127.0.0.1', int(params['port'])), timeout=2)
            report.append('api: reachable')
        except OSError:
            report.append('api: unreachable')
        for p in ('/etc/passwd', '/root', params['datadir']):
            report.append('%s: %s' % (p, os.path.exists(p)))
        out_files[0].set_metadata({})
        out_files[0].write('\\n'.join(report) + '\\n')
        out_files[0].close()
`;

beforeAll(async () => {
  h = await startStorage({ runs: true, env: { CAIRN_STORLET_TIMEOUT: '2' } });
  for (const c of ['storlet', 'dependency', 'data']) expect((await h.req('PUT', c)).status).toBe(201);
  expect((await h.req('PUT', 'dependency/greeting.txt', { headers: { 'X-Object-Meta-Storlet-Dependency-Version': '1' }, body: 'hi' })).status).toBe(201);
  const deploy = async (name: string, main: string, code: string, extra: Record<string, string> = {}) =>
    expect((await h.req('PUT', `storlet/${name}`, { headers: STORLET_HEADERS(main, extra), body: code })).status).toBe(201);
  // Deployed with the real swift CLI, as Storlets' docs do it.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-storlet-'));
  fs.writeFileSync(path.join(work, 'upper.py'), UPPER);
  const headers = Object.entries(STORLET_HEADERS('upper.UpperStorlet', { 'X-Object-Meta-Storlet-Dependency': 'greeting.txt' })).flatMap(([k, v]) => ['-H', `${k}:${v}`]);
  await run('/usr/bin/swift', ['--os-storage-url', h.accountUrl, '--os-auth-token', TOKEN_A, 'upload', 'storlet', 'upper.py', ...headers], { cwd: work, env: { PATH: '/usr/bin:/bin', HOME: work } });
  fs.rmSync(work, { recursive: true, force: true });
  expect((await h.req('HEAD', 'storlet/upper.py')).headers.get('x-object-meta-storlet-main')).toBe('upper.UpperStorlet');
  await deploy('concat.py', 'concat.Concat', CONCAT);
  await deploy('raiser.py', 'raiser.Raiser', RAISER);
  await deploy('nometa.py', 'nometa.NoMeta', NO_METADATA);
  await deploy('sleeper.py', 'sleeper.Sleeper', SLEEPER);
  await deploy('snoop.py', 'snoop.Snoop', SNOOP);
  expect((await h.req('PUT', 'data/doc.txt', { headers: { 'X-Object-Meta-Color': 'blue', 'Content-Type': 'text/plain' }, body: 'hello world' })).status).toBe(201);
});
afterAll(() => h.stop());

describe('deployment', () => {
  test.each([
    ['no Main', 'a.py', { 'X-Object-Meta-Storlet-Main': '' }, 'Mandatory parameter is missing: X-Object-Meta-Storlet-Main'],
    ['no .py', 'a.txt', {}, 'Python storlet object name must end with .py'],
    ['Main in another module', 'a.py', { 'X-Object-Meta-Storlet-Main': 'b.Cls' }, 'X-Object-Meta-Storlet-Main must be a.&lt;ClassName&gt;'],
    ['Main with submodules', 'a.py', { 'X-Object-Meta-Storlet-Main': 'a.b.Cls' }, 'X-Object-Meta-Storlet-Main must be a.'],
    ['Java', 'x-1.0.jar', { 'X-Object-Meta-Storlet-Language': 'Java', 'X-Object-Meta-Storlet-Main': 'org.X' }, 'Java is not supported'],
    ['Python 2', 'a.py', { 'X-Object-Meta-Storlet-Language-Version': '2.7' }, 'language version 2.7 is not supported'],
    ['dependency named like the storlet', 'a.py', { 'X-Object-Meta-Storlet-Dependency': 'a.py' }, 'same name as the storlet'],
  ])('%s is 400', async (_label, name, headers, message) => {
    const r = await h.req('PUT', `storlet/${name}`, { headers: { ...STORLET_HEADERS('a.Cls'), ...headers }, body: 'x' });
    expect(r.status).toBe(400);
    expect(r.text).toContain(message);
    expect((await h.req('HEAD', `storlet/${name}`)).status).toBe(404);
  });

  test('a dependency needs a version and owner-writable permissions', async () => {
    expect((await h.req('PUT', 'dependency/tool', { body: 'x' })).status).toBe(400);
    const r = await h.req('PUT', 'dependency/tool', { headers: { 'X-Object-Meta-Storlet-Dependency-Version': '1', 'X-Object-Meta-Storlet-Dependency-Permissions': '0400' }, body: 'x' });
    expect(r.status).toBe(400);
    expect(r.text).toContain("must keep the owner's read and write bits");
  });
});

describe('invocation', () => {
  test('an account without X-Account-Meta-Storlet-Enabled is refused; enabling it works', async () => {
    const r = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'upper.py' } });
    expect(r.status).toBe(400);
    expect(r.text).toContain('Account disabled for storlets');
    expect((await h.req('POST', '', { headers: { 'X-Account-Meta-Storlet-Enabled': 'True' } })).status).toBe(204);
  });

  test('GET runs the storlet: parameters from the query and headers, metadata before data, log on request', async () => {
    const r = await h.req('GET', 'data/doc.txt?suffix=!', { headers: { 'X-Run-Storlet': 'upper.py', 'X-Storlet-Parameter-1': 'mode:fast%20please', 'X-Storlet-Generate-Log': 'True' } });
    expect(r.status).toBe(200);
    expect(r.text).toBe('hi HELLO WORLD!');
    expect(r.headers.get('x-object-meta-transformed')).toBe('upper');
    expect(r.headers.get('x-object-meta-seen-keys')).toBe('color');
    expect(r.headers.get('content-length')).toBe('15');
    const log = await h.req('GET', 'storletlog/upper.py.log');
    expect(log.status).toBe(200);
    expect(log.text).toContain("INFO params [('mode', 'fast please'), ('suffix', '!')]");
  });

  test('X-Storlet-Range feeds only that range; a plain Range is 400', async () => {
    const r = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'upper.py', 'X-Storlet-Range': 'bytes=6-10' } });
    expect(r.status).toBe(200);
    expect(r.text).toBe('hi WORLD');
    expect(r.headers.get('storlet-input-range')).toBe('bytes 6-10/11');
    expect((await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'upper.py', Range: 'bytes=0-1' } })).status).toBe(400);
  });

  test('several ranges are fed one after the other, from the object file or streamed through the api', async () => {
    const get = () => h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'upper.py', 'X-Storlet-Range': 'bytes=0-1,-3' } });
    const linked = await get();
    expect(linked.text).toBe('hi HERLD');
    expect(linked.headers.get('storlet-input-range')).toBe('bytes 0-1,8-10/11');
    // The streaming path, which backends without local files (swift, s3) take.
    useFileHandOff(false);
    try {
      const streamed = await get();
      expect(streamed.text).toBe('hi HERLD');
      expect((await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'upper.py' } })).text).toBe('hi HELLO WORLD');
    } finally {
      useFileHandOff(true);
    }
  });

  test('PUT stores the storlet output over the upload', async () => {
    const r = await h.req('PUT', 'data/put.txt', { headers: { 'X-Run-Storlet': 'upper.py', 'X-Object-Meta-Kind': 'upload', 'Content-Type': 'text/plain' }, body: 'abc' });
    expect(r.status).toBe(201);
    const g = await h.req('GET', 'data/put.txt');
    expect(g.text).toBe('hi ABC');
    expect(g.headers.get('x-object-meta-kind')).toBe('upload');
    expect(g.headers.get('x-object-meta-transformed')).toBe('upper');
  });

  test('a PUT output over the container quota is 413 and not stored, though the upload fit', async () => {
    await h.req('PUT', 'limited', { headers: { 'X-Container-Meta-Quota-Bytes': '5' } });
    const r = await h.req('PUT', 'limited/put.txt', { headers: { 'X-Run-Storlet': 'upper.py' }, body: 'abc' });
    expect(r.status).toBe(413);
    expect(r.text).toBe('Upload exceeds quota.');
    expect((await h.req('HEAD', 'limited/put.txt')).status).toBe(404);
  });

  test('copy (COPY and X-Copy-From) transforms the source into the destination', async () => {
    const c = await h.req('COPY', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'upper.py', Destination: 'data/copied.txt' } });
    expect(c.status).toBe(201);
    expect(c.headers.get('x-storlet-generated-from')).toBe('data/doc.txt');
    expect((await h.req('GET', 'data/copied.txt')).text).toBe('hi HELLO WORLD');
    const p = await h.req('PUT', 'data/copied2.txt', { headers: { 'X-Run-Storlet': 'upper.py', 'X-Copy-From': 'data/doc.txt' }, body: '' });
    expect(p.status).toBe(201);
    const g = await h.req('GET', 'data/copied2.txt');
    expect(g.text).toBe('hi HELLO WORLD');
    expect(g.headers.get('x-object-meta-color')).toBe('blue');
    expect((await h.req('COPY', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'upper.py' } })).status).toBe(412);
  });

  test('X-Storlet-Extra-Resources adds inputs; a storlets referer is refused', async () => {
    expect((await h.req('PUT', 'data/second.txt', { headers: { 'X-Object-Meta-Color': 'red' }, body: '+second' })).status).toBe(201);
    const r = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'concat.py', 'X-Storlet-Extra-Resources': 'data/second.txt' } });
    expect(r.status).toBe(200);
    expect(r.text).toBe('hello world+second');
    expect(r.headers.get('x-object-meta-inputs')).toBe('2');
    expect(r.headers.get('x-object-meta-colors')).toBe('blue,red');
    expect((await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'concat.py', Referer: 'storlets' } })).status).toBe(403);
  });

  test('/info advertises the storlet handler', async () => {
    const info = JSON.parse((await h.req('GET', '/info', { token: null })).text) as Record<string, Record<string, unknown>>;
    expect(info.storlet_handler).toMatchObject({ storlet_container: 'storlet', storlet_dependency: 'dependency', storlet_languages: ['Python', 'nodejs'] });
    expect(info.zerocloud).toMatchObject({ execute_versions: ['1.0', 'open/1.0'] });
  });

  test('only the account owner runs storlets: a public-read container lets anyone GET, not run code', async () => {
    expect((await h.req('PUT', 'public')).status).toBe(201);
    expect((await h.req('PUT', 'public/p.txt', { body: 'open data' })).status).toBe(201);
    expect((await h.req('POST', 'public', { headers: { 'X-Container-Read': '.r:*' } })).status).toBe(204);
    expect((await h.req('GET', 'public/p.txt', { token: null })).text).toBe('open data');
    expect((await h.req('GET', 'public/p.txt', { token: null, headers: { 'X-Run-Storlet': 'upper.py' } })).status).toBe(401);
    expect((await h.req('GET', 'public/p.txt', { token: TOKEN_B, headers: { 'X-Run-Storlet': 'upper.py' } })).status).toBe(403);
    expect((await h.req('POST', '', { token: TOKEN_B, headers: { 'X-Zerovm-Execute': '1.0', 'Content-Type': 'application/json' }, body: '[]' })).status).toBe(403);
  });

  test('an unknown storlet is 401', async () => {
    const r = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'nothing.py' } });
    expect(r.status).toBe(401);
    expect(r.text).toContain('Failed to verify access to the storlet nothing.py');
  });
});

describe('failures', () => {
  test('a storlet that raises: 500 with the exception, log kept', async () => {
    const r = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'raiser.py', 'X-Storlet-Generate-Log': 'true' } });
    expect(r.status).toBe(500);
    expect(r.text).toBe('Storlet execution failed: ValueError: cannot handle this object\n');
    const log = await h.req('GET', 'storletlog/raiser.py.log');
    expect(log.text).toContain('ERROR storlet raiser.Raiser raised');
  });

  test('a storlet that never sets metadata: 503, nothing stored', async () => {
    const r = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'nometa.py' } });
    expect(r.status).toBe(503);
    expect(r.text).toContain('never set the metadata of its output');
    expect((await h.req('PUT', 'data/nometa.txt', { headers: { 'X-Run-Storlet': 'nometa.py' }, body: 'x' })).status).toBe(503);
    expect((await h.req('GET', 'data/nometa.txt')).status).toBe(404);
  });

  test('a storlet past its timeout is killed: 500 timed out', async () => {
    const r = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'sleeper.py' } });
    expect(r.status).toBe(500);
    expect(r.text).toBe('Storlet execution timed out\n');
  });

  test('a storlet reaches neither the network nor host files', async () => {
    const port = new URL(h.base).port;
    const r = await h.req('GET', `data/doc.txt?port=${port}&datadir=${encodeURIComponent(h.dataDir)}`, { headers: { 'X-Run-Storlet': 'snoop.py' } });
    expect(r.status).toBe(200);
    expect(r.text).toBe(`api: unreachable\n/etc/passwd: False\n/root: False\n${h.dataDir}: False\n`);
  });
});
