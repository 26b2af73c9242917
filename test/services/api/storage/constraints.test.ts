import * as net from 'node:net';
import { parseTarget } from '../../../../services/api/storage/constraints';
import { CairnError } from '../../../../services/core/errors';
import { PROJECT_A, startStorage, TOKEN_A, type StorageHarness } from './harness';

let h: StorageHarness;
beforeAll(async () => {
  h = await startStorage();
  await h.req('PUT', 'k');
});
afterAll(async () => {
  await h.stop();
});

/** Sends a request line as raw bytes (fetch would re-encode a malformed path). */
function rawRequest(method: string, pathBytes: Buffer): Promise<string> {
  const url = new URL(h.base);
  return new Promise((resolve, reject) => {
    let text = '';
    const sock = net.connect(Number(url.port), url.hostname, () => {
      sock.write(Buffer.concat([Buffer.from(`${method} `), pathBytes, Buffer.from(` HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${TOKEN_A}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)]));
    });
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    sock.on('end', () => resolve(text));
    sock.on('error', reject);
  });
}

describe('parseTarget', () => {
  test('splits account, container and object; the object keeps its slashes', () => {
    expect(parseTarget('/v1/AUTH_x')).toEqual({ kind: 'account', account: 'AUTH_x' });
    expect(parseTarget('/v1/AUTH_x/')).toEqual({ kind: 'account', account: 'AUTH_x' });
    expect(parseTarget('/v1/AUTH_x/c/')).toEqual({ kind: 'container', account: 'AUTH_x', container: 'c' });
    expect(parseTarget('/v1/AUTH_x/c/a/b/')).toEqual({ kind: 'object', account: 'AUTH_x', container: 'c', object: 'a/b/' });
    expect(parseTarget('/v1/AUTH_x/c/a%2Fb')).toEqual({ kind: 'object', account: 'AUTH_x', container: 'c', object: 'a/b' });
    expect(parseTarget('/v1/AUTH_x/c%2Fd')).toEqual({ kind: 'object', account: 'AUTH_x', container: 'c', object: 'd' });
    expect(parseTarget('/v1/AUTH_x/c/%E6%97%A5')).toMatchObject({ object: '日' });
  });

  test('invalid UTF-8 or NUL → 412; a malformed escape stays literal', () => {
    const code = (p: string): string | undefined => {
      try {
        parseTarget(p);
        return undefined;
      } catch (err) {
        return (err as CairnError).code;
      }
    };
    expect(code('/v1/AUTH_x/c/%FF')).toBe('storage.invalid_name');
    expect(code('/v1/AUTH_x/c/a%00b')).toBe('storage.invalid_name');
    expect(code('/v1/AUTH_x/c%C3')).toBe('storage.invalid_name');
    expect(parseTarget('/v1/AUTH_x/c/100%zz')).toMatchObject({ object: '100%zz' });
  });
});

describe('names over the wire', () => {
  test('invalid UTF-8 and NUL names → 412 "Invalid UTF8 or contains NULL"', async () => {
    for (const path of [`/v1/AUTH_${PROJECT_A}/k/%FF%FE`, `/v1/AUTH_${PROJECT_A}/k/a%00b`, `/v1/AUTH_${PROJECT_A}/bad%C3%28`]) {
      const r = await h.req('PUT', path, { body: 'x' });
      expect(r.status).toBe(412);
      expect(r.text).toBe('Invalid UTF8 or contains NULL');
      expect(r.headers.get('x-trans-id')).toMatch(/^tx/);
    }
  });

  // Raw (unescaped) non-ASCII bytes in a request line are taken as the UTF-8 they are, as Swift
  // does (http-front.test.ts covers the connection handling); invalid UTF-8 gets the same 412.
  test('raw non-ASCII bytes in the request line: valid UTF-8 is a name, invalid UTF-8 is 412', async () => {
    const ok = await rawRequest('PUT', Buffer.concat([Buffer.from(`/v1/AUTH_${PROJECT_A}/`), Buffer.from('küche', 'utf8')]));
    expect(ok).toMatch(/^HTTP\/1\.1 201 /);
    expect((await h.req('HEAD', encodeURIComponent('küche'))).status).toBe(204);
    const bad = await rawRequest('PUT', Buffer.concat([Buffer.from(`/v1/AUTH_${PROJECT_A}/k`), Buffer.from([0xfc])]));
    expect(bad).toMatch(/^HTTP\/1\.1 412 /);
    expect(bad).toContain('Invalid UTF8 or contains NULL');
  });

  test('container over 256 bytes and object over 1024 bytes → 400 with Swift texts', async () => {
    const c = await h.req('PUT', 'c'.repeat(257));
    expect(c.status).toBe(400);
    expect(c.text).toBe('Container name length of 257 longer than 256');
    expect((await h.req('PUT', 'c'.repeat(256))).status).toBe(201);
    const o = await h.req('PUT', `k/${'o'.repeat(1025)}`, { body: 'x' });
    expect(o.status).toBe(400);
    expect(o.text).toBe('Object name length of 1025 longer than 1024');
    expect((await h.req('PUT', `k/${'é'.repeat(512)}`, { body: 'x' })).status).toBe(201);
    expect((await h.req('PUT', `k/${'é'.repeat(513)}`, { body: 'x' })).status).toBe(400);
  });
});

describe('metadata limits', () => {
  test('name over 128, value over 256, empty name → 400 with Swift texts', async () => {
    let r = await h.req('PUT', 'k/m', { body: 'x', headers: { [`X-Object-Meta-${'n'.repeat(129)}`]: 'v' } });
    expect(r.status).toBe(400);
    expect(r.text).toBe(`Metadata name too long: x-object-meta-${'n'.repeat(129)}`);
    r = await h.req('POST', 'k', { headers: { 'X-Container-Meta-Big': 'v'.repeat(257) } });
    expect(r.status).toBe(400);
    expect(r.text).toBe('Metadata value longer than 256: x-container-meta-big');
    r = await h.req('POST', `/v1/AUTH_${PROJECT_A}`, { headers: { 'X-Account-Meta-': 'v' } });
    expect(r.status).toBe(400);
    expect(r.text).toBe('Metadata name cannot be empty');
    expect((await h.req('PUT', 'k/m', { body: 'x', headers: { [`X-Object-Meta-${'n'.repeat(128)}`]: 'v'.repeat(256) } })).status).toBe(201);
  });

  test('more than 90 items or 4096 bytes in all → 400; nothing is written', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 91; i++) many[`X-Object-Meta-K${i}`] = 'v';
    let r = await h.req('PUT', 'k/many', { body: 'x', headers: many });
    expect(r.status).toBe(400);
    expect(r.text).toBe('Too many metadata items; max 90');
    expect((await h.req('HEAD', 'k/many')).status).toBe(404);
    const big: Record<string, string> = {};
    for (let i = 0; i < 20; i++) big[`X-Container-Meta-K${i}`] = 'v'.repeat(250);
    r = await h.req('POST', 'k', { headers: big });
    expect(r.status).toBe(400);
    expect(r.text).toBe('Total metadata too large; max 4096');
    expect((await h.req('HEAD', 'k')).headers.get('x-container-meta-k0')).toBeNull();
  });

  test('account and container metadata accumulate only up to the per-resource limits', async () => {
    await h.req('PUT', 'acc-meta');
    for (let batch = 0; batch < 3; batch++) {
      const headers: Record<string, string> = {};
      for (let i = 0; i < 30; i++) headers[`X-Container-Meta-B${batch}-${i}`] = 'v';
      expect((await h.req('POST', 'acc-meta', { headers })).status).toBe(204);
    }
    const r = await h.req('POST', 'acc-meta', { headers: { 'X-Container-Meta-One-More': 'v' } });
    expect(r.status).toBe(400);
    expect(r.text).toBe('Too many metadata items; max 90');
    expect((await h.req('POST', 'acc-meta', { headers: { 'X-Remove-Container-Meta-B0-0': 'x', 'X-Container-Meta-One-More': 'v' } })).status).toBe(204);
    const big: Record<string, string> = {};
    for (let i = 0; i < 15; i++) big[`X-Account-Meta-K${i}`] = 'v'.repeat(250);
    expect((await h.req('POST', `/v1/AUTH_${PROJECT_A}`, { headers: big })).status).toBe(204);
    const more: Record<string, string> = {};
    for (let i = 15; i < 17; i++) more[`X-Account-Meta-K${i}`] = 'v'.repeat(250);
    const r2 = await h.req('POST', `/v1/AUTH_${PROJECT_A}`, { headers: more });
    expect(r2.status).toBe(400);
    expect(r2.text).toBe('Total metadata too large; max 4096');
  });

  /** Sends one request with a metadata header whose value is the given raw bytes; the whole reply as latin1. */
  function withRawMeta(method: string, pathname: string, header: string, value: Buffer, body = ''): Promise<string> {
    const url = new URL(h.base);
    return new Promise<string>((resolve, reject) => {
      let text = '';
      const sock = net.connect(Number(url.port), url.hostname, () => {
        sock.write(
          Buffer.concat([
            Buffer.from(`${method} ${pathname} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${TOKEN_A}\r\n${header}: `),
            value,
            Buffer.from(`\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`),
          ]),
        );
      });
      sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
  }

  test('container and account metadata values that are not UTF-8 → 400', async () => {
    for (const [pathname, header] of [
      [new URL(`${h.accountUrl}/k`).pathname, 'X-Container-Meta-Bad'],
      [new URL(h.accountUrl).pathname, 'X-Account-Meta-Bad'],
    ]) {
      const reply = await withRawMeta('POST', pathname, header, Buffer.from([0xff, 0xfe]));
      expect(reply).toMatch(/^HTTP\/1\.1 400 /);
      expect(reply).toContain('Metadata must be valid UTF-8');
    }
    expect((await h.req('HEAD', 'k')).headers.get('x-container-meta-bad')).toBeNull();
  });

  test('object metadata values that are not UTF-8 are kept as the bytes they are (as Swift keeps them)', async () => {
    const pathname = `${new URL(h.accountUrl).pathname}/k/raw-meta`;
    // A UTF-8 text cut inside a character, as Swift's functional tests send it.
    const cut = Buffer.from('日本', 'utf8').subarray(0, 4);
    expect(await withRawMeta('PUT', pathname, 'X-Object-Meta-Cut', cut, 'data')).toMatch(/^HTTP\/1\.1 201 /);
    const head = await withRawMeta('HEAD', pathname, 'X-Object-Meta-Ignored', Buffer.from('x'));
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(Buffer.from(/\r\nX-Object-Meta-Cut: ([^\r]*)\r\n/.exec(head)![1], 'latin1')).toEqual(cut);
    // POST replaces the metadata; the bytes survive a COPY too.
    expect(await withRawMeta('POST', pathname, 'X-Object-Meta-Other', Buffer.from([0xc3]))).toMatch(/^HTTP\/1\.1 202 /);
    expect((await h.req('COPY', 'k/raw-meta', { headers: { Destination: 'k/raw-meta-copy' } })).status).toBe(201);
    const copy = await withRawMeta('HEAD', `${pathname}-copy`, 'X-Object-Meta-Ignored', Buffer.from('x'));
    expect(copy).not.toContain('X-Object-Meta-Cut');
    expect(Buffer.from(/\r\nX-Object-Meta-Other: ([^\r]*)\r\n/.exec(copy)![1], 'latin1')).toEqual(Buffer.from([0xc3]));
  });
});
