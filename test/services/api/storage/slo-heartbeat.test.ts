// SLO manifest PUT with `heartbeat=on`: 202 at once, whitespace, then the outcome as a report.
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { startStorage, TOKEN_A, type StorageHarness } from './harness';

let h: StorageHarness;
const md5 = (b: string): string => createHash('md5').update(b).digest('hex');

beforeAll(async () => {
  h = await startStorage();
  await h.req('PUT', 'hb');
  await h.req('PUT', 'hb/s1', { body: 'one' });
  await h.req('PUT', 'hb/s2', { body: 'two!' });
});
afterAll(async () => {
  await h.stop();
});

const manifest = (extra: object[] = []): string => JSON.stringify([{ path: '/hb/s1', etag: md5('one') }, { path: '/hb/s2' }, ...extra]);
const put = (name: string, body: string, headers: Record<string, string> = {}) => h.req('PUT', `hb/${name}?multipart-manifest=put&heartbeat=on`, { body, headers });

/** Swift's functional test reads the body as: whitespace line, a lone `\r`, then the report. */
function report(text: string): string {
  const [spaces, cr, rest] = [text.split('\n', 1)[0], text.split('\n')[1], text.split('\n').slice(2).join('\n')];
  expect(spaces.trim()).toBe('');
  expect(cr).toBe('\r');
  return rest;
}

describe('SLO heartbeat', () => {
  test('/info advertises slo.yield_frequency', async () => {
    expect(JSON.parse((await h.req('GET', '/info')).text).slo.yield_frequency).toBe(10);
  });

  test('success: 202, a space sent before the segments are checked, then Etag and Last Modified (text and JSON)', async () => {
    const r = await put('m1', manifest());
    expect(r.status).toBe(202);
    expect(r.headers.get('content-type')).toBe('text/plain');
    expect(r.text.startsWith(' \r\n\r\n')).toBe(true);
    const lines = report(r.text).split('\n');
    const sloEtag = md5(md5('one') + md5('two!'));
    expect(lines).toContain(`Etag: "${sloEtag}"`);
    expect(lines.some((l) => /^Last Modified: \w{3}, \d\d \w{3} \d{4} /.test(l))).toBe(true);
    expect(lines).toContain('Response Status: 201 Created');
    expect(lines.slice(-2)).toEqual(['Errors:', '']);
    expect((await h.req('GET', 'hb/m1')).text).toBe('onetwo!');
    const j = await put('m2', manifest(), { Accept: 'application/json' });
    expect(j.headers.get('content-type')).toBe('application/json');
    const body = JSON.parse(report(j.text));
    expect(body).toMatchObject({ 'Response Status': '201 Created', 'Response Body': '', Errors: [], Etag: `"${sloEtag}"` });
  });

  test('segment problems and a wrong ETag come in the report; nothing is written', async () => {
    const r = await put('bad', manifest([{ path: 'hb/missing seg' }]), { Accept: 'application/json' });
    expect(r.status).toBe(202);
    expect(JSON.parse(report(r.text))).toEqual({
      'Response Status': '400 Bad Request',
      'Response Body': 'Bad Request\nThe server could not comply with the request since it is either malformed or otherwise incorrect.',
      Errors: [['hb/missing%20seg', '404 Not Found']],
    });
    const t = await put('bad', manifest([{ path: 'hb/missing' }]));
    expect(report(t.text).split('\n').slice(-3)).toEqual(['Errors:', 'hb/missing, 404 Not Found', '']);
    const e = await put('bad', manifest(), { Accept: 'application/json', ETag: 'nope' });
    expect(JSON.parse(report(e.text))).toEqual({ 'Response Status': '422 Unprocessable Entity', 'Response Body': 'Unprocessable Entity\nUnable to process the contained instructions', Errors: [] });
    const x = await put('bad', manifest([{ path: 'hb/missing' }]), { Accept: 'application/xml' });
    expect(report(x.text)).toBe('<upload>\n<response_body>Bad Request\nThe server could not comply with the request since it is either malformed or otherwise incorrect.</response_body>\n<response_status>400 Bad Request</response_status>\n<errors>\n<object><name>hb/missing</name><status>404 Not Found</status></object>\n</errors>\n</upload>\n');
    expect((await h.req('HEAD', 'hb/bad')).status).toBe(404);
  });

  test('an invalid manifest is refused with its usual status, before any 202', async () => {
    const r = await put('bad', '{}');
    expect(r.status).toBe(400);
    expect(r.text).toBe('Manifest must be a list.');
  });

  test('the heartbeat response is chunked: no Content-Length, the report ends it', async () => {
    const url = new URL(`${h.accountUrl}/hb/m3?multipart-manifest=put&heartbeat=on`);
    const body = manifest();
    const result = await new Promise<{ status: number; chunked: boolean; text: string }>((resolve, reject) => {
      const req = http.request(url, { method: 'PUT', headers: { 'X-Auth-Token': TOKEN_A, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, chunked: res.headers['transfer-encoding'] === 'chunked', text }));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(result.status).toBe(202);
    expect(result.chunked).toBe(true);
    expect(report(result.text)).toContain('Response Status: 201 Created');
  });
});
