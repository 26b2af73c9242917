import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import { startStorage, TOKEN_A, type StorageHarness } from './harness';

let h: StorageHarness;
beforeAll(async () => {
  h = await startStorage();
  await h.req('PUT', 'obj');
});
afterAll(async () => {
  await h.stop();
});

const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

/** A raw request with node:http, for what fetch hides (raw header case, chunked bodies, no length). */
function raw(method: string, path: string, headers: Record<string, string>, body?: Buffer | Buffer[]): Promise<{ status: number; rawHeaders: string[]; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${h.accountUrl}/${path}`, { method, headers: { 'X-Auth-Token': TOKEN_A, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode as number, rawHeaders: res.rawHeaders, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    for (const b of Array.isArray(body) ? body : body ? [body] : []) req.write(b);
    req.end();
  });
}

describe('object PUT', () => {
  test('201 with the unquoted hex MD5 as ETag, Last-Modified and X-Timestamp', async () => {
    const r = await h.req('PUT', 'obj/hello.txt', { body: 'hello world' });
    expect(r.status).toBe(201);
    expect(r.headers.get('etag')).toBe(md5('hello world'));
    expect(r.headers.get('last-modified')).toMatch(/^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
    expect(r.headers.get('x-timestamp')).toMatch(/^\d{10}\.\d{5}$/);
    const c = await h.req('HEAD', 'obj');
    expect(Number(c.headers.get('x-container-object-count'))).toBeGreaterThanOrEqual(1);
  });

  test('a chunked body (no Content-Length) is accepted', async () => {
    const r = await raw('PUT', 'obj/chunked', { 'Transfer-Encoding': 'chunked' }, [Buffer.from('abc'), Buffer.from('def')]);
    expect(r.status).toBe(201);
    expect(r.headers.etag).toBe(md5('abcdef'));
    expect((await h.req('GET', 'obj/chunked')).text).toBe('abcdef');
  });

  test('411 without Content-Length or chunked encoding', async () => {
    // node:http adds a length itself, so speak HTTP over a socket.
    const url = new URL(`${h.accountUrl}/obj/nolength`);
    const reply = await new Promise<string>((resolve, reject) => {
      let text = '';
      const sock = net.connect(Number(url.port), url.hostname, () => {
        sock.write(`PUT ${url.pathname} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${TOKEN_A}\r\nConnection: close\r\n\r\n`);
      });
      sock.on('data', (d: Buffer) => (text += d.toString()));
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 411 /);
    expect(reply).toMatch(/\r\nX-Trans-Id: tx/i);
    expect((await h.req('HEAD', 'obj/nolength')).status).toBe(404);
  });

  test('413 before reading a body declared larger than max_file_size', async () => {
    const url = new URL(`${h.accountUrl}/obj/huge`);
    const reply = await new Promise<string>((resolve, reject) => {
      let text = '';
      const sock = net.connect(Number(url.port), url.hostname, () => {
        sock.write(`PUT ${url.pathname} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${TOKEN_A}\r\nContent-Length: 5368709123\r\n\r\n`);
        sock.write(Buffer.alloc(1000));
      });
      sock.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('</html>')) sock.destroy();
      });
      sock.on('close', () => resolve(text));
      sock.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
    expect((await h.req('HEAD', 'obj/huge')).status).toBe(404);
  });

  test('422 when the ETag sent does not match the body; nothing is stored', async () => {
    const r = await h.req('PUT', 'obj/badetag', { body: 'data', headers: { ETag: md5('other') } });
    expect(r.status).toBe(422);
    expect((await h.req('HEAD', 'obj/badetag')).status).toBe(404);
    const ok = await h.req('PUT', 'obj/goodetag', { body: 'data', headers: { ETag: `"${md5('data')}"` } });
    expect(ok.status).toBe(201);
  });

  test('404 when the container does not exist', async () => {
    expect((await h.req('PUT', 'nocontainer/o', { body: 'x' })).status).toBe(404);
  });

  test('If-None-Match: * on an existing object → 412', async () => {
    await h.req('PUT', 'obj/once', { body: '1' });
    expect((await h.req('PUT', 'obj/once', { body: '2', headers: { 'If-None-Match': '*' } })).status).toBe(412);
    expect((await h.req('PUT', 'obj/once-new', { body: '2', headers: { 'If-None-Match': '*' } })).status).toBe(201);
    expect((await h.req('GET', 'obj/once')).text).toBe('1');
  });

  test('Content-Type: as sent, else guessed from the extension, else application/octet-stream', async () => {
    await h.req('PUT', 'obj/page.html', { body: '<p>', headers: { 'Content-Type': '' } });
    await h.req('PUT', 'obj/noext', { body: 'x', headers: { 'Content-Type': '' } });
    await h.req('PUT', 'obj/data.json', { body: '{}', headers: { 'Content-Type': 'application/x-custom' } });
    expect((await raw('HEAD', 'obj/page.html', {})).headers['content-type']).toBe('text/html');
    expect((await raw('HEAD', 'obj/noext', {})).headers['content-type']).toBe('application/octet-stream');
    expect((await raw('HEAD', 'obj/data.json', {})).headers['content-type']).toBe('application/x-custom');
  });

  test('a%2Fb stores object a/b; overwrite replaces content and keeps counts right', async () => {
    await h.req('PUT', 'cnt');
    expect((await h.req('PUT', 'cnt/a%2Fb', { body: '12345' })).status).toBe(201);
    expect((await h.req('GET', 'cnt/a/b')).text).toBe('12345');
    await h.req('PUT', 'cnt/a/b', { body: '12' });
    const c = await h.req('HEAD', 'cnt');
    expect(c.headers.get('x-container-object-count')).toBe('1');
    expect(c.headers.get('x-container-bytes-used')).toBe('2');
    expect((await h.req('GET', 'cnt/a/b')).text).toBe('12');
  });

  test('unsupported features (symlinks) are refused with 501, not silently ignored', async () => {
    expect((await h.req('PUT', 'obj/link', { body: '', headers: { 'X-Symlink-Target': 'obj/hello.txt' } })).status).toBe(501);
    expect((await h.req('HEAD', 'obj/link')).status).toBe(404);
  });
});

describe('object GET/HEAD/POST/DELETE', () => {
  const body = Buffer.from('0123456789A');
  beforeAll(async () => {
    await h.req('PUT', 'obj/r', { body, headers: { 'X-Object-Meta-Color': 'red', 'X-Object-Meta-Two-Words': 'x', 'Content-Type': 'text/plain' } });
  });

  test('GET 200 with content, length, ETag, metadata (title-cased), Accept-Ranges', async () => {
    const r = await raw('GET', 'obj/r', {});
    expect(r.status).toBe(200);
    expect(r.body.equals(body)).toBe(true);
    expect(r.headers['content-length']).toBe('11');
    expect(r.headers.etag).toBe(md5(body));
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.rawHeaders).toContain('X-Object-Meta-Color');
    expect(r.rawHeaders).toContain('X-Object-Meta-Two-Words');
    expect(r.headers['x-object-meta-color']).toBe('red');
    expect(r.headers['x-trans-id']).toMatch(/^tx[0-9a-f]{21}-[0-9a-f]{10}$/);
  });

  test('HEAD 200 with headers and no body; missing → 404', async () => {
    const r = await raw('HEAD', 'obj/r', {});
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe('11');
    expect(r.body.length).toBe(0);
    expect((await raw('HEAD', 'obj/missing', {})).status).toBe(404);
    expect((await h.req('GET', 'obj/missing')).status).toBe(404);
  });

  test('POST 202 replaces the whole set of user metadata and may change Content-Type', async () => {
    await h.req('PUT', 'obj/meta', { body: 'm', headers: { 'X-Object-Meta-A': '1', 'X-Object-Meta-B': '2' } });
    const p = await h.req('POST', 'obj/meta', { headers: { 'X-Object-Meta-C': '3', 'Content-Type': 'text/x-new' } });
    expect(p.status).toBe(202);
    const r = await raw('HEAD', 'obj/meta', {});
    expect(r.headers['x-object-meta-a']).toBeUndefined();
    expect(r.headers['x-object-meta-b']).toBeUndefined();
    expect(r.headers['x-object-meta-c']).toBe('3');
    expect(r.headers['content-type']).toBe('text/x-new');
    expect(r.headers.etag).toBe(md5('m'));
    expect((await h.req('POST', 'obj/nothing', { headers: { 'X-Object-Meta-C': '3' } })).status).toBe(404);
  });

  test('DELETE 204, then 404', async () => {
    await h.req('PUT', 'obj/del', { body: 'x' });
    expect((await h.req('DELETE', 'obj/del')).status).toBe(204);
    expect((await h.req('DELETE', 'obj/del')).status).toBe(404);
    expect((await h.req('GET', 'obj/del')).status).toBe(404);
  });

  test('conditional GET: If-Match, If-None-Match (quoted, unquoted, *), If-Modified-Since, If-Unmodified-Since', async () => {
    const etag = md5(body);
    expect((await h.req('GET', 'obj/r', { headers: { 'If-Match': `"${etag}"` } })).status).toBe(200);
    const failed = await h.req('GET', 'obj/r', { headers: { 'If-Match': 'nope' } });
    expect(failed.status).toBe(412);
    expect(failed.headers.get('etag')).toBe(etag);
    const nm = await h.req('GET', 'obj/r', { headers: { 'If-None-Match': etag } });
    expect(nm.status).toBe(304);
    expect(nm.headers.get('etag')).toBe(etag);
    expect((await h.req('GET', 'obj/r', { headers: { 'If-None-Match': '*' } })).status).toBe(304);
    expect((await h.req('GET', 'obj/r', { headers: { 'If-None-Match': '"other"' } })).status).toBe(200);
    const lm = (await h.req('HEAD', 'obj/r')).headers.get('last-modified') as string;
    expect((await h.req('GET', 'obj/r', { headers: { 'If-Modified-Since': lm } })).status).toBe(304);
    expect((await h.req('GET', 'obj/r', { headers: { 'If-Modified-Since': 'Thu, 01 Jan 2004 00:00:00 GMT' } })).status).toBe(200);
    expect((await h.req('GET', 'obj/r', { headers: { 'If-Unmodified-Since': 'Thu, 01 Jan 2004 00:00:00 GMT' } })).status).toBe(412);
    expect((await h.req('GET', 'obj/r', { headers: { 'If-Unmodified-Since': lm } })).status).toBe(200);
  });

  test('ranges: 206 single and suffix, 416 unsatisfiable, invalid ignored, multipart for several', async () => {
    const one = await h.req('GET', 'obj/r', { headers: { Range: 'bytes=0-4' } });
    expect(one.status).toBe(206);
    expect(one.text).toBe('01234');
    expect(one.headers.get('content-range')).toBe('bytes 0-4/11');
    const suffix = await h.req('GET', 'obj/r', { headers: { Range: 'bytes=-3' } });
    expect(suffix.status).toBe(206);
    expect(suffix.text).toBe('89A');
    const open = await h.req('GET', 'obj/r', { headers: { Range: 'bytes=9-' } });
    expect(open.text).toBe('9A');
    const bad = await h.req('GET', 'obj/r', { headers: { Range: 'bytes=50-60' } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe('bytes */11');
    const ignored = await h.req('GET', 'obj/r', { headers: { Range: 'bytes=z-1' } });
    expect(ignored.status).toBe(200);
    expect(ignored.text).toBe('0123456789A');
    const multi = await h.req('GET', 'obj/r', { headers: { Range: 'bytes=0-1,5-6' } });
    expect(multi.status).toBe(206);
    const type = multi.headers.get('content-type') as string;
    const boundary = /boundary=(\w+)/.exec(type)?.[1];
    expect(type).toMatch(/^multipart\/byteranges;boundary=/);
    expect(multi.text).toContain(`--${boundary}\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/11\r\n\r\n01\r\n`);
    expect(multi.text).toContain(`Content-Range: bytes 5-6/11\r\n\r\n56\r\n--${boundary}--`);
    expect(Number(multi.headers.get('content-length'))).toBe(multi.body.length);
  });

  test('a large object streams through intact', async () => {
    const big = Buffer.alloc(24 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
    const put = await h.req('PUT', 'obj/big', { body: big });
    expect(put.status).toBe(201);
    expect(put.headers.get('etag')).toBe(md5(big));
    const got = await h.req('GET', 'obj/big');
    expect(got.body.length).toBe(big.length);
    expect(md5(got.body)).toBe(md5(big));
    await h.req('DELETE', 'obj/big');
  });

  test('small objects and ranges (read whole, one write) and a data file cut short (503, not a short body)', async () => {
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
    expect((await h.req('PUT', 'obj/small', { body: data })).status).toBe(201);
    expect((await h.req('GET', 'obj/small')).body).toEqual(data);
    const r = await h.req('GET', 'obj/small', { headers: { Range: 'bytes=4000-' } });
    expect([r.status, r.headers.get('content-range')]).toEqual([206, 'bytes 4000-4999/5000']);
    expect(r.body).toEqual(data.subarray(4000));
    const { readdirSync, statSync, truncateSync } = require('node:fs') as typeof import('node:fs');
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(`${d}/${e.name}`) : files.push(`${d}/${e.name}`);
    };
    walk(`${h.dataDir}/objects`);
    const file = files.find((f) => statSync(f).size === 5000)!;
    truncateSync(file, 100);
    const cut = await h.req('GET', 'obj/small');
    expect(cut.status).toBe(503);
    await h.req('DELETE', 'obj/small');
  });
});

describe('atomicity', () => {
  function objectFiles(): string[] {
    const { readdirSync } = require('node:fs') as typeof import('node:fs');
    const root = `${h.dataDir}/objects`;
    const out: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(`${d}/${e.name}`) : out.push(e.name);
    };
    walk(root);
    return out;
  }

  test('an upload aborted half-way leaves no object, no temp file and the old version intact', async () => {
    await h.req('PUT', 'obj/abort', { body: 'old version' });
    const before = objectFiles().length;
    const url = new URL(`${h.accountUrl}/obj/abort`);
    await new Promise<void>((resolve) => {
      const sock = net.connect(Number(url.port), url.hostname, () => {
        sock.write(`PUT ${url.pathname} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${TOKEN_A}\r\nContent-Length: 10000000\r\n\r\n`);
        sock.write(Buffer.alloc(3_000_000, 1), () => setTimeout(() => sock.destroy(), 100));
      });
      sock.on('close', () => resolve());
      sock.on('error', () => undefined);
    });
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.req('GET', 'obj/abort')).text).toBe('old version');
    const files = objectFiles();
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(files.length).toBe(before);
  });

  test('a refused upload (422, too short) leaves no file behind', async () => {
    const before = objectFiles().length;
    expect((await h.req('PUT', 'obj/refused', { body: 'abc', headers: { ETag: md5('x') } })).status).toBe(422);
    expect(objectFiles().length).toBe(before);
    expect((await h.req('HEAD', 'obj/refused')).status).toBe(404);
  });

  test('deleting and overwriting remove the old data files', async () => {
    const before = objectFiles().length;
    await h.req('PUT', 'obj/gc', { body: '1' });
    await h.req('PUT', 'obj/gc', { body: '2' });
    expect(objectFiles().length).toBe(before + 1);
    await h.req('DELETE', 'obj/gc');
    expect(objectFiles().length).toBe(before);
  });
});
