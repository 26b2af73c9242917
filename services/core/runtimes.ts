// The runtimes this platform can run locally, by the `image` a runtime record names. Qinling's
// runtime images are accepted as aliases so scripts written for it keep working.
import type { RuntimeKind } from './execution';

const IMAGES: Record<string, RuntimeKind> = {
  python3: 'python3',
  'cairn/python3': 'python3',
  'openstackqinling/python3-runtime': 'python3',
  nodejs: 'nodejs',
  'cairn/nodejs': 'nodejs',
  'openstackqinling/nodejs-runtime': 'nodejs',
  'openstackqinling/nodejs10-runtime': 'nodejs',
};

export const KNOWN_RUNTIME_IMAGES = Object.keys(IMAGES);

/** The runtime kind for an image reference (any tag), or undefined if this platform has none. */
export function runtimeKindOf(image: string): RuntimeKind | undefined {
  const name = image.replace(/^docker\.io\//, '').replace(/[:@].*$/, '');
  return IMAGES[name];
}

/** Runtimes registered on first start. */
export const DEFAULT_RUNTIMES = [
  { name: 'python3', image: 'python3', description: 'Python 3 (Debian /usr/bin/python3) with python-swiftclient and keystoneauth1 built in' },
  { name: 'nodejs', image: 'nodejs', description: 'Node.js (the platform\'s own node)' },
] as const;
