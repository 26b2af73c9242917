// What happens before a request reaches the storage pipeline: requests Node's HTTP parser refuses
// (raw non-ASCII request lines, bodies without framing) are answered the way Swift answers them,
// over raw sockets on the real api server.
import * as net from 'node:net';
import { encodeRequestLine } from '../../../../services/api/http/client-errors';
import { PROJECT_A, TOKEN_A, startStorage, type StorageHarness } from './harness';

let h: StorageHarness;

beforeAll(async () => {
  h = await startStorage();
  expect((await h.req('PUT', 'front')).status).toBe(201);
});
afterAll(async () => {
  await h.stop();
});

interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/** One raw connection: write bytes, read whole responses (Content-Length framed) one at a time. */
class RawConnection {
  private buffered = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private ended = false;
  readonly sock: net.Socket;

  constructor(port: number) {
    this.sock = net.connect(port, '127.0.0.1');
    this.sock.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.wake();
    });
    this.sock.on('close', () => {
      this.ended = true;
      this.wake();
    });
    this.sock.on('error', () => undefined);
  }

  write(...parts: (string | Buffer)[]): void {
    this.sock.write(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p))));
  }

  async response(): Promise<RawResponse> {
    for (;;) {
      const end = this.buffered.indexOf('\r\n\r\n');
      if (end !== -1) {
        const head = this.buffered.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (this.buffered.length >= end + 4 + length) {
          const body = this.buffered.subarray(end + 4, end + 4 + length).toString('utf8');
          this.buffered = this.buffered.subarray(end + 4 + length);
          return { status: Number(head.split(' ')[1]), head, body };
        }
      }
      if (this.ended) throw new Error(`connection closed; got ${JSON.stringify(this.buffered.toString('latin1'))}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async closed(): Promise<boolean> {
    while (!this.ended) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return true;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

const port = (): number => Number(new URL(h.base).port);
const account = (): string => `/v1/AUTH_${PROJECT_A}`;
const auth = (): string => `Host: x\r\nX-Auth-Token: ${TOKEN_A}\r\n`;

describe('request lines with raw non-ASCII bytes', () => {
  test('valid UTF-8 is taken as the name it spells; the name lists back', async () => {
    const c = new RawConnection(port());
    c.write(`PUT ${account()}/front/`, Buffer.from('snö☃', 'utf8'), ` HTTP/1.1\r\n${auth()}Content-Length: 3\r\n\r\nabc`);
    expect((await c.response()).status).toBe(201);
    c.sock.destroy();
    const listing = await h.req('GET', 'front?format=json');
    expect((JSON.parse(listing.text) as { name: string }[]).map((o) => o.name)).toContain('snö☃');
    expect((await h.req('GET', `front/${encodeURIComponent('snö☃')}`)).text).toBe('abc');
  });

  test('invalid UTF-8 is 412 with Swift\u2019s body, and nothing is created', async () => {
    const c = new RawConnection(port());
    c.write(`PUT ${account()}/`, Buffer.from([0xbf, 0xe2, 0x98]), ` HTTP/1.1\r\n${auth()}Content-Length: 0\r\n\r\n`);
    const r = await c.response();
    expect(r.status).toBe(412);
    expect(r.body).toBe('Invalid UTF8 or contains NULL');
    c.sock.destroy();
    const containers = JSON.parse((await h.req('GET', `${account()}?format=json`)).text) as { name: string }[];
    expect(containers.map((x) => x.name)).toEqual(['front']);
  });

  test('a kept-alive connection carries several such requests and plain ones in turn', async () => {
    const c = new RawConnection(port());
    for (let i = 0; i < 3; i++) {
      c.write(`PUT ${account()}/front/ka-${i}-`, Buffer.from('ü', 'utf8'), ` HTTP/1.1\r\n${auth()}Content-Length: 1\r\n\r\n${i}`);
      expect((await c.response()).status).toBe(201);
      c.write(`GET ${account()}/front/ka-${i}-%C3%BC HTTP/1.1\r\n${auth()}\r\n`);
      const got = await c.response();
      expect(got.status).toBe(200);
      expect(got.body).toBe(String(i));
    }
    c.sock.destroy();
  });

  test('a large body behind such a request line streams through whole (the relay keeps back-pressure)', async () => {
    const body = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4096) body.writeUInt32BE(i, i);
    const c = new RawConnection(port());
    c.write(`PUT ${account()}/front/big-`, Buffer.from('ß', 'utf8'), ` HTTP/1.1\r\n${auth()}Content-Length: ${body.length}\r\n\r\n`);
    c.sock.write(body);
    expect((await c.response()).status).toBe(201);
    c.sock.destroy();
    const got = await h.req('GET', `front/big-${encodeURIComponent('ß')}`);
    expect(got.body.equals(body)).toBe(true);
  });

  test('encodeRequestLine percent-encodes only the request line, and only when it is one', () => {
    const packet = Buffer.concat([Buffer.from('GET /a/'), Buffer.from([0xc3, 0xbc]), Buffer.from(' HTTP/1.1\r\nX-Meta: '), Buffer.from([0xc3]), Buffer.from('\r\n\r\n')]);
    expect(encodeRequestLine(packet)?.toString('latin1')).toBe('GET /a/%C3%BC HTTP/1.1\r\nX-Meta: \u00c3\r\n\r\n');
    expect(encodeRequestLine(Buffer.from('GET /plain HTTP/1.1\r\n\r\n'))).toBeNull();
    expect(encodeRequestLine(Buffer.concat([Buffer.from('not a request '), Buffer.from([0xff]), Buffer.from('\r\n')]))).toBeNull();
    expect(encodeRequestLine(Buffer.concat([Buffer.from('GET /no-line-end'), Buffer.from([0xff])]))).toBeNull();
  });
});

describe('bodies without valid framing', () => {
  test('a PUT with a body but no Content-Length is always 411, then the connection closes', async () => {
    for (let i = 0; i < 5; i++) {
      const c = new RawConnection(port());
      c.write(`PUT ${account()}/front/unframed HTTP/1.1\r\n${auth()}\r\n${'x'.repeat(100)}`);
      const r = await c.response();
      expect(r.status).toBe(411);
      expect(await c.closed()).toBe(true);
    }
    expect((await h.req('HEAD', 'front/unframed')).status).toBe(404);
  });

  test('Transfer-Encoding with more than one coding is 501 and nothing is stored', async () => {
    const c = new RawConnection(port());
    c.write(`PUT ${account()}/front/gz HTTP/1.1\r\n${auth()}Transfer-Encoding: gzip,chunked\r\n\r\n${'y'.repeat(100)}`);
    const r = await c.response();
    expect(r.status).toBe(501);
    expect(r.body).toBe('Unsupported Transfer-Coding header value specified in Transfer-Encoding header');
    expect(await c.closed()).toBe(true);
    expect((await h.req('HEAD', 'front/gz')).status).toBe(404);
  });

  test('a chunked body that breaks mid-way stores nothing and the connection is closed', async () => {
    const c = new RawConnection(port());
    c.write(`PUT ${account()}/front/broken HTTP/1.1\r\n${auth()}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz-not-hex\r\n`);
    expect(await c.closed()).toBe(true);
    expect((await h.req('HEAD', 'front/broken')).status).toBe(404);
  });

  test('a well-formed method Node does not know is 405, as Swift answers any method it lacks', async () => {
    for (const method of ['LICK', 'GETorHEAD_base']) {
      const c = new RawConnection(port());
      c.write(`${method} ${account()} HTTP/1.1\r\n${auth()}Content-Length: 0\r\n\r\n`);
      const r = await c.response();
      expect(r.status).toBe(405);
      expect(r.body).toBe('Method Not Allowed');
      expect(await c.closed()).toBe(true);
    }
  });

  test('a request that is not HTTP gets 400 with a text body and a closed connection', async () => {
    const c = new RawConnection(port());
    c.write('NOT HTTP AT ALL\r\n\r\n');
    const r = await c.response();
    expect(r.status).toBe(400);
    expect(r.body).toBe('Bad Request');
    expect(await c.closed()).toBe(true);
  });
});

describe('the Connection header', () => {
  test('is absent unless the client asked for keep-alive; the connection persists either way', async () => {
    const c = new RawConnection(port());
    c.write(`HEAD ${account()}/front HTTP/1.1\r\n${auth()}\r\n`);
    const plain = await c.response();
    expect(plain.status).toBe(204);
    expect(plain.head).not.toMatch(/\r\nconnection:/i);
    c.write(`HEAD ${account()}/front HTTP/1.1\r\n${auth()}Connection: keep-alive\r\n\r\n`);
    const asked = await c.response();
    expect(asked.head).toMatch(/\r\nConnection: keep-alive/i);
    c.write(`HEAD ${account()}/front HTTP/1.1\r\n${auth()}Connection: close\r\n\r\n`);
    expect((await c.response()).head).toMatch(/\r\nConnection: close/i);
    expect(await c.closed()).toBe(true);
  });
});
