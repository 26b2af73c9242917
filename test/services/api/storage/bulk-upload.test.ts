// Extract archive (PUT ?extract-archive=tar|tar.gz|tar.bz2): archives built here, byte by byte.
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { PROJECT_A, PROJECT_B, TOKEN_B, USER_B, startStorage, type StorageHarness } from './harness';

let h: StorageHarness;

beforeAll(async () => {
  h = await startStorage();
});
afterAll(async () => {
  await h.stop();
});

interface Member {
  name: string | Buffer;
  data?: string | Buffer;
  /** '0' file (default), '5' directory, '2' symlink */
  type?: string;
  /** How a name past 100 bytes is stored: GNU `L` record (default) or a pax `path`. */
  long?: 'gnu' | 'pax';
  /** pax records to put before the member (xattrs). */
  pax?: Record<string, string>;
}

function header(name: Buffer, size: number, type: string): Buffer {
  const h = Buffer.alloc(512);
  name.copy(h, 0, 0, Math.min(100, name.length));
  h.write('0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write(type, 156, 'latin1');
  h.write('ustar\0' + '00', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

function paxRecords(records: Record<string, string>): Buffer {
  const out: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(body) + 1;
    while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
    out.push(Buffer.from(`${len}${body}`, 'utf8'));
  }
  return Buffer.concat(out);
}

/** A ustar archive; names over 100 bytes use a GNU long-name record or a pax header. */
function tar(members: Member[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const name = Buffer.isBuffer(m.name) ? m.name : Buffer.from(m.name, 'utf8');
    const data = Buffer.isBuffer(m.data) ? m.data : Buffer.from(m.data ?? '', 'utf8');
    const pax: Record<string, string> = { ...(m.pax ?? {}) };
    if (name.length > 100 && m.long === 'pax') pax.path = name.toString('utf8');
    if (Object.keys(pax).length) {
      const records = paxRecords(pax);
      parts.push(header(Buffer.from('PaxHeader'), records.length, 'x'), padded(records));
    }
    if (name.length > 100 && m.long !== 'pax') parts.push(header(Buffer.from('././@LongLink'), name.length + 1, 'L'), padded(Buffer.concat([name, Buffer.alloc(1)])));
    parts.push(header(name, data.length, m.type ?? '0'), padded(data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

const extract = (path: string, body: Buffer, opts: { format?: string; accept?: string; token?: string | null; headers?: Record<string, string> } = {}) =>
  h.req('PUT', `${path}?extract-archive=${opts.format ?? 'tar'}`, { body, token: opts.token, headers: { ...(opts.accept ? { Accept: opts.accept } : {}), ...(opts.headers ?? {}) } });

describe('extract archive', () => {
  test('/info advertises bulk_upload with Swift\'s limits', async () => {
    const info = JSON.parse((await h.req('GET', '/info')).text);
    expect(info.bulk_upload).toEqual({ max_containers_per_extraction: 10000, max_failed_extractions: 1000 });
  });

  test('at the account: the first path segment is the container (created), nested paths kept, dirs and top-level files skipped', async () => {
    const archive = tar([
      { name: 'top-level.txt', data: 'ignored' },
      { name: 'ea1/', type: '5' },
      { name: 'ea1/a.txt', data: 'alpha' },
      { name: './ea1/sub/dir/b.json', data: '{"b":1}' },
      { name: 'ea2/empty/', type: '5' },
      { name: 'ea2/link', type: '2' },
      { name: 'ea3/c', data: '' },
    ]);
    const r = await extract('', archive, { accept: 'application/json' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(r.text)).toEqual({ 'Number Files Created': 3, 'Response Body': '', 'Response Status': '201 Created', Errors: [] });
    expect((await h.req('GET', 'ea1/a.txt')).text).toBe('alpha');
    const b = await h.req('GET', 'ea1/sub/dir/b.json');
    expect(b.text).toBe('{"b":1}');
    expect(b.headers.get('content-type')).toBe('application/json');
    expect((await h.req('GET', 'ea3/c')).status).toBe(200);
    expect((await h.req('HEAD', 'ea2')).status).toBe(404);
    expect((await h.req('GET', 'ea1')).text).toBe('a.txt\nsub/dir/b.json\n');
  });

  test('into a container and a prefix; X-Object-Meta-* and pax xattrs become metadata; plain-text report', async () => {
    await h.req('PUT', 'dest');
    const archive = tar([{ name: 'x/y.bin', data: 'xy', pax: { 'SCHILY.xattr.user.mime_type': 'application/x-demo', 'SCHILY.xattr.user.meta.colour': 'blau' } }]);
    const r = await extract('dest/pre/fix/', archive, { headers: { 'X-Object-Meta-Batch': '7' } });
    expect(r.status).toBe(200);
    expect(r.text).toBe('Number Files Created: 1\nResponse Body: \nResponse Status: 201 Created\nErrors:\n');
    const g = await h.req('GET', 'dest/pre/fix/x/y.bin');
    expect(g.text).toBe('xy');
    expect(g.headers.get('content-type')).toBe('application/x-demo');
    expect(g.headers.get('x-object-meta-batch')).toBe('7');
    expect(g.headers.get('x-object-meta-colour')).toBe('blau');
  });

  test('long names (GNU and pax), tar.gz and tar.bz2', async () => {
    const long = `deep/${'d'.repeat(120)}/${'e'.repeat(60)}.txt`;
    const paxLong = `deep/${'p'.repeat(150)}.txt`;
    const archive = tar([
      { name: long, data: 'gnu' },
      { name: paxLong, data: 'pax', long: 'pax' },
    ]);
    const gz = await extract('', gzipSync(archive), { format: 'tar.gz', accept: 'application/json' });
    expect(JSON.parse(gz.text)['Number Files Created']).toBe(2);
    expect((await h.req('GET', `deep/${'d'.repeat(120)}/${'e'.repeat(60)}.txt`)).text).toBe('gnu');
    expect((await h.req('GET', `deep/${'p'.repeat(150)}.txt`)).text).toBe('pax');
    const bz = execFileSync('bzip2', ['-c'], { input: tar([{ name: 'bz/one', data: 'bzipped' }]) });
    const r = await extract('', bz, { format: '.tar.bz2.', accept: 'application/json' });
    expect(JSON.parse(r.text)).toMatchObject({ 'Number Files Created': 1, 'Response Status': '201 Created' });
    expect((await h.req('GET', 'bz/one')).text).toBe('bzipped');
  });

  test('a bad archive is a 400 report; an unknown format a 400 at once', async () => {
    const junk = await extract('junk', Buffer.alloc(1024, 7), { accept: 'application/json' });
    expect(junk.status).toBe(200);
    const report = JSON.parse(junk.text);
    expect(report['Response Status']).toBe('400 Bad Request');
    expect(report['Response Body']).toMatch(/^Invalid Tar File: /);
    const truncated = tar([{ name: 'trunc/a', data: 'x'.repeat(2000) }]).subarray(0, 1200);
    expect(JSON.parse((await extract('', truncated, { accept: 'application/json' })).text)['Response Body']).toBe('Invalid Tar File: unexpected end of data');
    expect((await h.req('HEAD', 'trunc/a')).status).toBe(404);
    const badGz = JSON.parse((await extract('', Buffer.from('not gzip at all'), { format: 'tar.gz', accept: 'application/json' })).text);
    expect(badGz['Response Status']).toBe('400 Bad Request');
    expect(badGz['Response Body']).toMatch(/^Invalid Tar File: /);
    const badBz = JSON.parse((await extract('', Buffer.from('not bzip2 either'), { format: 'tar.bz2', accept: 'application/json' })).text);
    expect(badBz['Response Body']).toMatch(/^Invalid Tar File: /);
    const none = JSON.parse((await extract('', tar([{ name: 'only-top-level', data: 'x' }]), { accept: 'application/json' })).text);
    expect(none).toMatchObject({ 'Response Status': '400 Bad Request', 'Response Body': 'Invalid Tar File: No Valid Files' });
    const zip = await extract('', tar([]), { format: 'zip' });
    expect(zip.status).toBe(400);
    expect(zip.text).toBe('Unsupported archive format');
  });

  test('a name too long and invalid UTF-8 are reported in Errors; the other members are created (XML report)', async () => {
    const archive = tar([
      { name: 'errs/ok', data: 'fine' },
      { name: `errs/${'n'.repeat(1100)}`, data: 'too long' },
      { name: Buffer.concat([Buffer.from('errs/bad-'), Buffer.from([0xff, 0xfe])]), data: 'latin' },
      { name: `${'c'.repeat(300)}/x`, data: 'container name too long' },
    ]);
    const r = await extract('', archive, { accept: 'application/xml' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/xml');
    expect(r.text).toBe(
      [
        '<extract>',
        '<number_files_created>1</number_files_created>',
        '<response_body></response_body>',
        '<response_status>400 Bad Request</response_status>',
        '<errors>',
        `<object><name>errs/${'n'.repeat(1100)}</name><status>400 Bad Request</status></object>`,
        '<object><name>errs/bad-%FF%FE</name><status>412 Precondition Failed</status></object>',
        `<object><name>/v1/AUTH_${PROJECT_A}/${'c'.repeat(300)}</name><status>400 Bad Request</status></object>`,
        `<object><name>${'c'.repeat(300)}/x</name><status>400 Bad Request</status></object>`,
        '</errors>',
        '</extract>',
        '',
      ].join('\n'),
    );
    expect((await h.req('GET', 'errs/ok')).text).toBe('fine');
  });

  test('each object needs write permission on its container: a write ACL lets another project in, nowhere else', async () => {
    const bob = `${PROJECT_B}:${USER_B}`;
    await h.req('PUT', 'open');
    await h.req('POST', 'open', { headers: { 'X-Container-Write': bob } });
    await h.req('PUT', 'closed');
    const archive = tar([
      { name: 'open/from-bob', data: 'hi' },
      { name: 'closed/from-bob', data: 'no' },
      { name: 'newone/from-bob', data: 'no' },
    ]);
    const r = await extract(`/v1/AUTH_${PROJECT_A}`, archive, { token: TOKEN_B, accept: 'application/json' });
    expect(r.status).toBe(200);
    const acct = `AUTH_${PROJECT_A}`;
    expect(JSON.parse(r.text)).toEqual({
      'Number Files Created': 1,
      'Response Body': '',
      'Response Status': '400 Bad Request',
      Errors: [
        [`/v1/${acct}/closed`, '403 Forbidden'],
        ['closed/from-bob', '403 Forbidden'],
        [`/v1/${acct}/newone`, '403 Forbidden'],
        ['newone/from-bob', '403 Forbidden'],
      ],
    });
    expect((await h.req('GET', 'open/from-bob')).text).toBe('hi');
    expect((await h.req('HEAD', 'closed/from-bob')).status).toBe(404);
    expect((await h.req('HEAD', 'newone')).status).toBe(404);
    // No token at all: the first refusal stops the extraction with 401.
    const anon = JSON.parse((await extract('', tar([{ name: 'open/anon', data: 'x' }]), { token: null, accept: 'application/json' })).text);
    expect(anon['Response Status']).toBe('401 Unauthorized');
    expect(anon['Number Files Created']).toBe(0);
    expect((await h.req('HEAD', 'open/anon')).status).toBe(404);
  });

  test('an archive larger than one read is streamed through (1 MiB members)', async () => {
    const big = Buffer.alloc(1024 * 1024 + 3, 'z');
    const archive = tar([
      { name: 'big/one', data: big },
      { name: 'big/two', data: 'after' },
    ]);
    const r = JSON.parse((await extract('', archive, { accept: 'application/json' })).text);
    expect(r['Number Files Created']).toBe(2);
    expect((await h.req('GET', 'big/one')).body.equals(big)).toBe(true);
    expect((await h.req('GET', 'big/two')).text).toBe('after');
  });

  test('an Accept nothing can satisfy is reported as 406', async () => {
    const r = await extract('', tar([{ name: 'na/x', data: 'x' }]), { accept: 'image/png' });
    expect(r.status).toBe(200);
    expect(r.text).toContain('406 Not Acceptable');
    expect((await h.req('HEAD', 'na/x')).status).toBe(404);
  });
});

describe('bulk delete (shared report)', () => {
  test('?bulk-delete on an object URL reads paths relative to the account; XML report', async () => {
    await h.req('PUT', 'bd');
    await h.req('PUT', 'bd/o', { body: 'x' });
    const r = await h.req('DELETE', 'bd/o?bulk-delete', { body: 'bd/o', headers: { Accept: 'application/xml', 'Content-Type': 'text/plain' } });
    expect(r.status).toBe(200);
    expect(r.text).toBe(
      '<delete>\n<number_deleted>1</number_deleted>\n<number_not_found>0</number_not_found>\n<response_status>200 OK</response_status>\n<response_body></response_body>\n<errors>\n</errors>\n</delete>\n',
    );
    expect((await h.req('HEAD', 'bd/o')).status).toBe(404);
    // Not the owner: refused even where a container ACL lets the caller write.
    await h.req('POST', 'bd', { headers: { 'X-Container-Write': `${PROJECT_B}:${USER_B}` } });
    await h.req('PUT', 'bd/p', { body: 'x' });
    expect((await h.req('DELETE', `/v1/AUTH_${PROJECT_A}/bd/p?bulk-delete`, { token: TOKEN_B, body: 'ea1/a.txt' })).status).toBe(403);
    expect((await h.req('HEAD', 'ea1/a.txt')).status).toBe(200);
  });
});
