// The swift backend's name mappings, which must be bijections: anything read back upstream decodes
// to what Cairn stored, and no two Cairn names meet upstream.
import { cairnAccount, decodeContentType, decodeMetaName, encodeContentType, decodeMetaValue, encodeMetaName, encodeMetaValue, upstreamAccount } from '../../../../services/core/objectstore/swift-names';

describe('swift backend name mapping', () => {
  test('accounts map reversibly and without collisions, never to a dot account', () => {
    const accounts = ['AUTH_0123abcd', 'AUTH_t', '.cairn', 'AUTH_', 'AUTH__x', 'AUTH_.x', '_x', 'x', 'AUTH_AUTH_x', 'AUTH__AUTH_x'];
    for (const prefix of ['AUTH_', 'AUTH_run1-']) {
      const up = accounts.map((a) => upstreamAccount(prefix, a));
      expect(new Set(up).size).toBe(accounts.length);
      for (const [i, u] of up.entries()) {
        expect(u.startsWith(prefix)).toBe(true);
        expect(u.slice(prefix.length).startsWith('.')).toBe(false);
        expect(cairnAccount(prefix, u)).toBe(accounts[i]);
      }
    }
    expect(upstreamAccount('AUTH_', 'AUTH_0123abcd')).toBe('AUTH_0123abcd');
    expect(upstreamAccount('AUTH_', '.cairn')).toBe('AUTH__.cairn');
    expect(cairnAccount('AUTH_', 'OTHER_x')).toBeUndefined();
  });

  test('metadata names survive Swift title-casing and its "_" → "-" folding', () => {
    const names = ['color', 'sys:delete-at', 'a_b', 'a-b', 'A-b', 'ünï', '%41', 'x.y', 'temp-url-key'];
    const enc = names.map(encodeMetaName);
    expect(new Set(enc.map((e) => e.toLowerCase().replace(/_/g, '-'))).size).toBe(names.length);
    for (const [i, e] of enc.entries()) {
      expect(e).toMatch(/^c-[a-z0-9%A-F-]+$/);
      const titled = e.replace(/(^|[^a-zA-Z])([a-z])/g, (_m, a: string, b: string) => a + b.toUpperCase());
      expect(decodeMetaName(titled)).toBe(names[i]);
    }
    expect(encodeMetaName('sys:delete-at')).toBe('c-sys%3Adelete-at');
    expect(decodeMetaName('Temp-Url-Key')).toBeUndefined();
  });

  test('metadata values travel as ASCII and come back exactly', () => {
    const values = ['plain', '', ' lead', 'trail ', 'in side', '%', '%41', 'é 🙂', 'a\tb\r\n', '\u0000', '\u007f'];
    for (const v of values) {
      const e = encodeMetaValue(v);
      expect(e).toMatch(/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/);
      expect(decodeMetaValue(e)).toBe(v);
    }
    expect(encodeMetaValue('in side')).toBe('in side');
  });

  test('content types hide their swift_* parameters from Swift and come back exactly', () => {
    const types = ['text/plain', 'application/json;swift_bytes=42', 'text/plain; charset=utf-8; SWIFT_x=1', 'a/b;cairn_y=2', 'a/b; cairn_swift_bytes=3'];
    for (const t of types) {
      const e = encodeContentType(t);
      expect(e).not.toMatch(/;\s*swift_/i);
      expect(decodeContentType(e)).toBe(t);
    }
    expect(encodeContentType('application/json;swift_bytes=42')).toBe('application/json;cairn_swift_bytes=42');
  });
});
