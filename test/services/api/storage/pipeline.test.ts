import { buildPipeline, PipelineOrderError, type Middleware, type StorageRequest } from '../../../../services/api/storage/pipeline';
import { storageMiddlewares } from '../../../../services/api/storage';

const mw = (name: string, after: string[] = [], log: string[] = [], handles = false): Middleware => ({
  name,
  after,
  async handle(_req, next) {
    log.push(name);
    if (!handles) await next();
  },
});

describe('storage pipeline', () => {
  test('runs in order and passes through what a middleware does not handle', async () => {
    const log: string[] = [];
    const run = buildPipeline([mw('a', [], log), mw('b', ['a'], log, true), mw('c', ['a'], log)], async () => void log.push('end'));
    await run({} as StorageRequest);
    expect(log).toEqual(['a', 'b']);
    const log2: string[] = [];
    await buildPipeline([mw('a', [], log2), mw('c', ['a'], log2)], async () => void log2.push('end'))({} as StorageRequest);
    expect(log2).toEqual(['a', 'c', 'end']);
  });

  test('a middleware placed before what it needs, a missing dependency or a duplicate name fails at build time', () => {
    expect(() => buildPipeline([mw('auth', ['catch-errors']), mw('catch-errors')], async () => undefined)).toThrow(PipelineOrderError);
    expect(() => buildPipeline([mw('auth', ['catch-errors']), mw('catch-errors')], async () => undefined)).toThrow('"auth" must come after "catch-errors"');
    expect(() => buildPipeline([mw('storlet', ['auth'])], async () => undefined)).toThrow('"storlet" needs "auth" earlier in the pipeline, and it is missing');
    expect(() => buildPipeline([mw('a'), mw('a')], async () => undefined)).toThrow('"a" appears twice');
  });

  test('the real storage pipeline is well ordered: auth before every handler', () => {
    const deps = { config: { version: 'test', identity: { storageOperatorRoles: ['admin', 'member'] }, containerSync: { allowedHosts: [], realms: {}, intervalSeconds: 0 } }, db: {}, backend: {}, validator: {} } as never;
    const names = storageMiddlewares(deps).map((m) => m.name);
    expect(names.slice(0, 4)).toEqual(['request-id', 'catch-errors', 'info', 'constraints']);
    const at = (n: string): number => names.indexOf(n);
    // ACLs and TempURL prepare what auth asks; every handler runs after auth; copy reads through large objects.
    expect(at('container-acl')).toBeGreaterThan(at('constraints'));
    expect(at('container-acl')).toBeLessThan(at('auth'));
    expect(at('account-acl')).toBeGreaterThan(at('constraints'));
    expect(at('account-acl')).toBeLessThan(at('auth'));
    // A sync key or realm signature authorizes before auth would refuse the token-less request.
    expect(at('container-sync')).toBeGreaterThan(at('constraints'));
    expect(at('container-sync')).toBeLessThan(at('auth'));
    expect(at('tempurl')).toBeGreaterThan(at('constraints'));
    expect(at('tempurl')).toBeLessThan(at('auth'));
    // Extract archive: each object is a subrequest through auth; the archive's PUT itself is not.
    expect(at('bulk-upload')).toBeGreaterThan(at('constraints'));
    expect(at('bulk-upload')).toBeLessThan(at('auth'));
    // A CORS preflight carries no token, and a refused request still needs its CORS headers.
    expect(at('cors')).toBeGreaterThan(at('constraints'));
    expect(at('cors')).toBeLessThan(at('auth'));
    // Quota refusals come after auth, and before every middleware that writes objects.
    for (const n of ['storlet', 'copy', 'object']) expect(at(n)).toBeGreaterThan(at('container-quotas'));
    expect(at('container-quotas')).toBeGreaterThan(at('auth'));
    for (const n of ['bulk-delete', 'expiry', 'dlo', 'slo', 'copy', 'listing', 'account', 'container', 'object']) expect(at(n)).toBeGreaterThan(at('auth'));
    expect(at('copy')).toBeGreaterThan(Math.max(at('expiry'), at('dlo'), at('slo')));
    expect(at('object')).toBe(names.length - 1);
    expect(() => buildPipeline(storageMiddlewares(deps), async () => undefined)).not.toThrow();
    const reordered = storageMiddlewares(deps);
    const authAt = reordered.findIndex((m) => m.name === 'auth');
    reordered.splice(authAt, 1);
    reordered.push(storageMiddlewares(deps)[authAt]);
    expect(() => buildPipeline(reordered, async () => undefined)).toThrow(/"listing" must come after "auth"/);
  });
});
