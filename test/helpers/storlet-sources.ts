// Python storlets (openstack/storlets' interface) that more than one storlet suite deploys.

/** Raises on every call: the 500 `Storlet execution failed` path. */
export const RAISER = `
class Raiser(object):
    def __init__(self, logger):
        pass

    def __call__(self, in_files, out_files, params):
        raise ValueError('cannot handle this object')
`;

/** Sets metadata, then never returns: the timeout path. */
export const SLEEPER = `
import time

class Sleeper(object):
    def __init__(self, logger):
        pass

    def __call__(self, in_files, out_files, params):
        out_files[0].set_metadata({})
        while True:
            time.sleep(1)
`;

/** Reads its input, closes its output, never calls set_metadata: 503, and a PUT stores nothing. */
export const NO_METADATA = `
class NoMeta(object):
    def __init__(self, logger):
        pass

    def __call__(self, in_files, out_files, params):
        in_files[0].read()
        out_files[0].close()
`;
