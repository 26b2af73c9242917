"""Runs one Python storlet written for openstack/storlets' interface, unchanged, inside a Cairn
sandbox (one call per sandbox).

The storlet class is constructed with a logger and called with (in_files, out_files, params). The
host hands everything over as files: the object's data on fd 0, its user metadata as JSON in
/dev/storlet/meta-in, the parameters in /dev/storlet/params, and extra resources as
/dev/storlet/in-<n> with /dev/storlet/in-<n>.meta. The output data goes to /dev/storlet/out, its
metadata (which must be set before any data, as Storlets requires) to /dev/storlet/meta-out, and
log lines to /dev/storlet/log. Anything the storlet prints goes to stderr so it cannot corrupt the
output. Exit codes: 0 done, 1 the storlet raised, 3 it never set the output metadata.

Usage: python3 -B shim.py <module.Class>
"""
import importlib
import json
import os
import sys
import traceback

DEV = '/dev/storlet'
CODE_DIR = '/storlet'
# Storlets' limit on the serialized output metadata.
MAX_METADATA_BYTES = 4096
EXIT_RAISED = 1
EXIT_NO_METADATA = 3


class StorletLogger(object):
    """The logger the storlet class is constructed with: one line per message in the log file."""

    def __init__(self, stream):
        self._stream = stream

    def _emit(self, level, msg):
        self._stream.write('%s %s\n' % (level, msg))
        self._stream.flush()

    def debug(self, msg):
        self._emit('DEBUG', msg)

    def info(self, msg):
        self._emit('INFO', msg)

    def warning(self, msg):
        self._emit('WARNING', msg)

    warn = warning

    def error(self, msg):
        self._emit('ERROR', msg)

    def exception(self, msg):
        self._emit('ERROR', '%s\n%s' % (msg, traceback.format_exc()))


class StorletInputFile(object):
    """A read-only, non-seekable input with the object's user metadata."""

    def __init__(self, raw, metadata):
        self._raw = raw
        self._metadata = metadata

    def get_metadata(self):
        return dict(self._metadata)

    def read(self, size=-1):
        return self._raw.read(size)

    def readline(self, size=-1):
        return self._raw.readline(size)

    def readlines(self, hint=-1):
        return self._raw.readlines(hint)

    def __iter__(self):
        return iter(self._raw)

    def __next__(self):
        return next(self._raw)

    next = __next__

    def write(self, *_args):
        raise IOError('Storlet input files are read-only')

    def close(self):
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()


class StorletOutputFile(object):
    """The one output: set_metadata() exactly once, before any write."""

    def __init__(self, data_path, meta_path):
        self._data_path = data_path
        self._meta_path = meta_path
        self._data = None
        self.metadata_set = False

    def set_metadata(self, metadata):
        if self.metadata_set:
            raise IOError('set_metadata may be called only once')
        if not isinstance(metadata, dict):
            raise TypeError('metadata must be a dict')
        encoded = json.dumps(dict((str(k), str(v)) for k, v in metadata.items()))
        if len(encoded.encode('utf-8')) > MAX_METADATA_BYTES:
            raise IOError('metadata is larger than %d bytes' % MAX_METADATA_BYTES)
        with open(self._meta_path, 'w') as f:
            f.write(encoded)
        self.metadata_set = True
        self._data = open(self._data_path, 'wb')

    def _stream(self):
        if not self.metadata_set:
            raise IOError('set_metadata must be called before writing data')
        return self._data

    def write(self, data):
        if isinstance(data, str):
            data = data.encode('utf-8')
        self._stream().write(data)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if self._data is not None:
            self._data.flush()

    def close(self):
        if self._data is not None and not self._data.closed:
            self._data.close()

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()


def read_json(path, default):
    try:
        with open(path) as f:
            return json.load(f)
    except (IOError, OSError):
        return default


def main():
    main_class = sys.argv[1]
    module_name, class_name = main_class.split('.')
    # What the storlet prints must not end up in its output.
    real_stdout = sys.stdout
    sys.stdout = sys.stderr
    log_stream = open(os.path.join(DEV, 'log'), 'a')
    logger = StorletLogger(log_stream)
    params = read_json(os.path.join(DEV, 'params'), {})
    params['storlet_execution_path'] = CODE_DIR
    in_files = [StorletInputFile(os.fdopen(0, 'rb'), read_json(os.path.join(DEV, 'meta-in'), {}))]
    n = 1
    while os.path.exists(os.path.join(DEV, 'in-%d' % n)):
        in_files.append(StorletInputFile(open(os.path.join(DEV, 'in-%d' % n), 'rb'), read_json(os.path.join(DEV, 'in-%d.meta' % n), {})))
        n += 1
    out = StorletOutputFile(os.path.join(DEV, 'out'), os.path.join(DEV, 'meta-out'))
    sys.path.insert(0, CODE_DIR)
    try:
        storlet_class = getattr(importlib.import_module(module_name), class_name)
        storlet = storlet_class(logger)
        storlet(in_files, [out], params)
    except Exception:
        logger.exception('storlet %s raised' % main_class)
        traceback.print_exc()
        sys.exit(EXIT_RAISED)
    finally:
        out.close()
        log_stream.close()
        real_stdout.flush()
    if not out.metadata_set:
        sys.stderr.write('storlet %s never called set_metadata on its output\n' % main_class)
        sys.exit(EXIT_NO_METADATA)


if __name__ == '__main__':
    main()
