// The identity surfaces of the api's single port: Keystone v3 under /identity, tempauth under /auth.
import type { Identity } from '../../core/identity';
import type { Surface } from '../http/context';
import { keystoneSurface } from './keystone';
import { tempauthSurface } from './tempauth';

export { keystoneSurface } from './keystone';
export { tempauthSurface } from './tempauth';

export function identitySurfaces(identity: Identity): Surface[] {
  return [keystoneSurface(identity), tempauthSurface(identity)];
}
