// Node.js storlets (Cairn's addition next to Storlets' Python interface): deployment with
// X-Object-Meta-Storlet-Language: nodejs, then the same calls as the Python storlet tests — GET
// with parameters and log, X-Storlet-Range, PUT, copy, extra resources, streams — and the same
// failure modes (throws, never sets metadata, writes before metadata, timeout), all through real
// HTTP and real sandboxes.
import { startStorage, type StorageHarness } from './harness';

let h: StorageHarness;

const NODE_HEADERS = (main: string, extra: Record<string, string> = {}): Record<string, string> => ({
  'Content-Type': 'application/octet-stream',
  'X-Object-Meta-Storlet-Language': 'nodejs',
  'X-Object-Meta-Storlet-Interface-Version': '1.0',
  'X-Object-Meta-Storlet-Object-Metadata': 'no',
  'X-Object-Meta-Storlet-Main': main,
  ...extra,
});

// A class export: constructed with the logger, then invoke(inFiles, outFiles, params).
const UPPER = `
const fs = require('node:fs');
const path = require('node:path');

class UpperStorlet {
  constructor(logger) {
    this.logger = logger;
  }

  async invoke(inFiles, outFiles, params) {
    const meta = inFiles[0].getMetadata();
    meta.transformed = 'upper';
    meta['seen-keys'] = Object.keys(inFiles[0].getMetadata()).sort().join(',');
    const greeting = fs.readFileSync(path.join(params.storlet_execution_path, 'greeting.txt'), 'utf8').trim();
    outFiles[0].setMetadata(meta);
    const shown = Object.entries(params).filter(([k]) => k !== 'storlet_execution_path').sort();
    this.logger.info('params ' + JSON.stringify(shown));
    console.log('printed text goes to stderr, not to the output');
    const data = await inFiles[0].readAll();
    outFiles[0].end(greeting + ' ' + data.toString().toUpperCase() + (params.suffix || ''));
  }
}

module.exports = { UpperStorlet };
`;

// Function exports: called with (inFiles, outFiles, params, logger); streams piped, awaited or not.
const STREAMS = `
const { Transform } = require('node:stream');
const { pipeline } = require('node:stream/promises');

exports.lower = async (inFiles, outFiles, params, logger) => {
  outFiles[0].setMetadata({ 'Content-Type': 'text/x-lower', by: 'lower' });
  logger.debug('lowering');
  await pipeline(inFiles[0], new Transform({ transform(chunk, _enc, cb) { cb(null, chunk.toString().toLowerCase()); } }), outFiles[0]);
};

exports.passthru = (inFiles, outFiles) => {
  outFiles[0].setMetadata({});
  inFiles[0].pipe(outFiles[0]);
};

exports.concat = async (inFiles, outFiles) => {
  outFiles[0].setMetadata({ inputs: String(inFiles.length), colors: inFiles.map((f) => f.getMetadata().color || '-').join(',') });
  for (const f of inFiles) outFiles[0].write(await f.readAll());
  outFiles[0].end();
};
`;

const FAILURES = `
class Raiser {
  invoke() {
    throw new RangeError('cannot handle this object');
  }
}

exports.Raiser = Raiser;

exports.later = (inFiles, outFiles) => {
  outFiles[0].setMetadata({});
  setTimeout(() => { throw new Error('failed in a callback'); }, 10);
};

exports.nometa = async (inFiles, outFiles) => {
  await inFiles[0].readAll();
  outFiles[0].end();
};

exports.early = (inFiles, outFiles) => {
  outFiles[0].write('data first');
};

exports.sleeper = (inFiles, outFiles) => {
  outFiles[0].setMetadata({});
  setInterval(() => undefined, 1000);
};
`;

beforeAll(async () => {
  h = await startStorage({ runs: true, env: { CAIRN_STORLET_TIMEOUT: '2' } });
  for (const c of ['storlet', 'dependency', 'data']) expect((await h.req('PUT', c)).status).toBe(201);
  expect((await h.req('POST', '', { headers: { 'X-Account-Meta-Storlet-Enabled': 'True' } })).status).toBe(204);
  expect((await h.req('PUT', 'dependency/greeting.txt', { headers: { 'X-Object-Meta-Storlet-Dependency-Version': '1' }, body: 'hi' })).status).toBe(201);
  const deploy = async (name: string, main: string, code: string, extra: Record<string, string> = {}) =>
    expect((await h.req('PUT', `storlet/${name}`, { headers: NODE_HEADERS(main, extra), body: code })).status).toBe(201);
  await deploy('upper.js', 'upper.UpperStorlet', UPPER, { 'X-Object-Meta-Storlet-Dependency': 'greeting.txt' });
  await deploy('streams.js', 'streams.lower', STREAMS);
  expect((await h.req('PUT', 'data/doc.txt', { headers: { 'X-Object-Meta-Color': 'blue', 'Content-Type': 'text/plain' }, body: 'hello world' })).status).toBe(201);
  await deploy('failures.js', 'failures.Raiser', FAILURES);
});
afterAll(() => h.stop());

/** Runs `storlet` with Main `<module>.<export>`: Main is per object, so it is set with a POST first. */
async function withMain(name: string, main: string): Promise<void> {
  expect((await h.req('POST', `storlet/${name}`, { headers: NODE_HEADERS(main) })).status).toBe(202);
}

describe('deployment', () => {
  test.each([
    ['a .py name', 'a.py', {}, 'Node.js storlet object name must end with .js'],
    ['Main in another module', 'a.js', { 'X-Object-Meta-Storlet-Main': 'b.run' }, 'X-Object-Meta-Storlet-Main must be a.&lt;ExportName&gt;'],
    ['another Node.js major', 'a.js', { 'X-Object-Meta-Storlet-Language-Version': '12' }, 'language version 12 is not supported'],
    ['an unknown language', 'a.js', { 'X-Object-Meta-Storlet-Language': 'ruby' }, 'Storlet language ruby is not supported; use Python or nodejs'],
  ])('%s is 400', async (_label, name, headers, message) => {
    const r = await h.req('PUT', `storlet/${name}`, { headers: { ...NODE_HEADERS('a.run'), ...headers }, body: 'x' });
    expect(r.status).toBe(400);
    expect(r.text).toContain(message);
  });

  test('the language is case-insensitive and the running major is accepted', async () => {
    const major = process.versions.node.split('.')[0];
    const r = await h.req('PUT', 'storlet/ok.js', { headers: NODE_HEADERS('ok.run', { 'X-Object-Meta-Storlet-Language': 'NodeJS', 'X-Object-Meta-Storlet-Language-Version': major }), body: 'exports.run = () => {};' });
    expect(r.status).toBe(201);
  });

  test('/info lists nodejs next to Python', async () => {
    const info = JSON.parse((await h.req('GET', '/info', { token: null })).text) as Record<string, Record<string, unknown>>;
    expect(info.storlet_handler.storlet_languages).toEqual(['Python', 'nodejs']);
  });
});

describe('invocation', () => {
  test('GET: a class storlet with parameters, metadata before data, console to stderr, log on request', async () => {
    const r = await h.req('GET', 'data/doc.txt?suffix=!', { headers: { 'X-Run-Storlet': 'upper.js', 'X-Storlet-Parameter-1': 'mode:fast%20please', 'X-Storlet-Generate-Log': 'True' } });
    expect(r.status).toBe(200);
    expect(r.text).toBe('hi HELLO WORLD!');
    expect(r.headers.get('x-object-meta-transformed')).toBe('upper');
    expect(r.headers.get('x-object-meta-seen-keys')).toBe('color');
    const log = await h.req('GET', 'storletlog/upper.js.log');
    expect(log.text).toContain('INFO params [["mode","fast please"],["suffix","!"]]');
    expect(log.text).toContain('--- stderr ---\nprinted text goes to stderr, not to the output');
  });

  test('X-Storlet-Range feeds only those ranges, one after the other', async () => {
    const one = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'upper.js', 'X-Storlet-Range': 'bytes=6-10' } });
    expect(one.text).toBe('hi WORLD');
    expect(one.headers.get('storlet-input-range')).toBe('bytes 6-10/11');
    const two = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'upper.js', 'X-Storlet-Range': 'bytes=0-1,-3' } });
    expect(two.text).toBe('hi HERLD');
    expect(two.headers.get('storlet-input-range')).toBe('bytes 0-1,8-10/11');
  });

  test('a function storlet streams through a Transform; Content-Type comes from its metadata', async () => {
    await withMain('streams.js', 'streams.lower');
    const r = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'streams.js' } });
    expect(r.status).toBe(200);
    expect(r.text).toBe('hello world');
    expect(r.headers.get('content-type')).toBe('text/x-lower');
    expect(r.headers.get('x-object-meta-by')).toBe('lower');
  });

  test('a storlet that pipes without awaiting gets its whole output (1 MiB)', async () => {
    const big = Buffer.alloc(1024 * 1024, 'abcdefghij');
    expect((await h.req('PUT', 'data/big.bin', { body: big })).status).toBe(201);
    await withMain('streams.js', 'streams.passthru');
    const r = await h.req('GET', 'data/big.bin', { headers: { 'X-Run-Storlet': 'streams.js' } });
    expect(r.status).toBe(200);
    expect(r.body.equals(big)).toBe(true);
  });

  test('PUT stores the output over the upload', async () => {
    const r = await h.req('PUT', 'data/put.txt', { headers: { 'X-Run-Storlet': 'upper.js', 'X-Object-Meta-Kind': 'upload', 'Content-Type': 'text/plain' }, body: 'abc' });
    expect(r.status).toBe(201);
    const g = await h.req('GET', 'data/put.txt');
    expect(g.text).toBe('hi ABC');
    expect(g.headers.get('x-object-meta-kind')).toBe('upload');
    expect(g.headers.get('x-object-meta-transformed')).toBe('upper');
  });

  test('COPY and X-Copy-From transform the source into the destination', async () => {
    const c = await h.req('COPY', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'upper.js', Destination: 'data/copied.txt' } });
    expect(c.status).toBe(201);
    expect(c.headers.get('x-storlet-generated-from')).toBe('data/doc.txt');
    expect((await h.req('GET', 'data/copied.txt')).text).toBe('hi HELLO WORLD');
    const p = await h.req('PUT', 'data/copied2.txt', { headers: { 'X-Run-Storlet': 'upper.js', 'X-Copy-From': 'data/doc.txt' }, body: '' });
    expect(p.status).toBe(201);
    const g = await h.req('GET', 'data/copied2.txt');
    expect(g.text).toBe('hi HELLO WORLD');
    expect(g.headers.get('x-object-meta-color')).toBe('blue');
  });

  test('X-Storlet-Extra-Resources become inFiles[1…] with their metadata', async () => {
    expect((await h.req('PUT', 'data/second.txt', { headers: { 'X-Object-Meta-Color': 'red' }, body: '+second' })).status).toBe(201);
    await withMain('streams.js', 'streams.concat');
    const r = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'streams.js', 'X-Storlet-Extra-Resources': 'data/second.txt' } });
    expect(r.status).toBe(200);
    expect(r.text).toBe('hello world+second');
    expect(r.headers.get('x-object-meta-inputs')).toBe('2');
    expect(r.headers.get('x-object-meta-colors')).toBe('blue,red');
  });
});

describe('failures', () => {
  test('a storlet that throws: 500 with the error, log kept', async () => {
    await withMain('failures.js', 'failures.Raiser');
    const r = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'failures.js', 'X-Storlet-Generate-Log': 'true' } });
    expect(r.status).toBe(500);
    expect(r.text).toBe('Storlet execution failed: RangeError: cannot handle this object\n');
    const log = await h.req('GET', 'storletlog/failures.js.log');
    expect(log.text).toContain('ERROR storlet failures.Raiser raised');
  });

  test('an error thrown later from a callback fails the call too', async () => {
    await withMain('failures.js', 'failures.later');
    const r = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'failures.js' } });
    expect(r.status).toBe(500);
    expect(r.text).toBe('Storlet execution failed: Error: failed in a callback\n');
  });

  test('a storlet that never sets metadata: 503, nothing stored', async () => {
    await withMain('failures.js', 'failures.nometa');
    const r = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'failures.js' } });
    expect(r.status).toBe(503);
    expect(r.text).toContain('never set the metadata of its output');
    expect((await h.req('PUT', 'data/nometa.txt', { headers: { 'X-Run-Storlet': 'failures.js' }, body: 'x' })).status).toBe(503);
    expect((await h.req('GET', 'data/nometa.txt')).status).toBe(404);
  });

  test('writing before setMetadata is an error, not a half-written reply', async () => {
    await withMain('failures.js', 'failures.early');
    const r = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'failures.js' } });
    expect(r.status).toBe(500);
    expect(r.text).toBe('Storlet execution failed: Error: setMetadata must be called before writing data\n');
  });

  test('a storlet past its timeout is killed: 500 timed out', async () => {
    await withMain('failures.js', 'failures.sleeper');
    const r = await h.req('GET', 'data/doc.txt', { headers: { 'X-Run-Storlet': 'failures.js' } });
    expect(r.status).toBe(500);
    expect(r.text).toBe('Storlet execution timed out\n');
  });
});
