"""Runs one Python storlet written for openstack/storlets' interface, unchanged, inside a Cairn
sandbox (one call per sandbox).

The storlet class is constructed with a logger and called with (in_files, out_files, params). The
host hands everything over as files: the object's data on fd 0, its user metadata as JSON in
/dev/storlet/meta-in, the parameters in /dev/storlet/params, and extra resources as
/dev/storlet/in-<n> with /dev/storlet/in-<n>.meta. When fd 0 is the whole object's own file
and X-Storlet-Range asked for part of it, /dev/storlet/range lists the inclusive byte ranges
([[start, end], ...]) the storlet must see, one after the other. The output data goes to /dev/storlet/out, its
metadata (which must be set before any data, as Storlets requires) to /dev/storlet/meta-out, and
log lines to /dev/storlet/log. Anything the storlet prints goes to stderr so it cannot corrupt the
output. Exit codes: 0 done, 1 the storlet raised, 3 it never set the output metadata.

Usage: python3 -B shim.py <module.Class>

Serving mode (warm workers, services/executor/runs/storlet-workers.ts): `shim.py --serve
<module.Class>` imports the module once and serves one call at a time over fd 3, a socket. Each
call is a JSON line {"input", "ranges", "meta", "params", "extras": [{"path", "meta"}]} naming
files in the worker's read-only inbox; the reply is frames (1 byte type, 4 bytes big-endian length,
payload): M metadata JSON, D data, L log text, E stderr text, X end {"code": <exit code above>}.
A new storlet instance is made per call; module state lives as long as the worker (one storlet
version of one account). Between calls /tmp is emptied and stray processes are killed.
"""
import importlib
import io
import json
import os
import shutil
import signal
import socket
import struct
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


class RangedInput(io.RawIOBase):
    """Only the given inclusive byte ranges of a file descriptor, read with pread."""

    def __init__(self, fd, ranges):
        io.RawIOBase.__init__(self)
        self._fd = fd
        self._ranges = [(int(a), int(b)) for a, b in ranges]
        self._i = 0
        self._pos = self._ranges[0][0] if self._ranges else 0

    def readable(self):
        return True

    def readinto(self, buf):
        while self._i < len(self._ranges):
            end = self._ranges[self._i][1]
            if self._pos <= end:
                data = os.pread(self._fd, min(len(buf), end - self._pos + 1), self._pos)
                if data:
                    buf[:len(data)] = data
                    self._pos += len(data)
                    return len(data)
            self._i += 1
            if self._i < len(self._ranges):
                self._pos = self._ranges[self._i][0]
        return 0

    def close(self):
        if not self.closed:
            os.close(self._fd)
        io.RawIOBase.close(self)


def open_input():
    """fd 0, limited to /dev/storlet/range when the host left the ranges to apply here."""
    ranges = read_json(os.path.join(DEV, 'range'), None)
    if ranges is None:
        return os.fdopen(0, 'rb')
    return io.BufferedReader(RangedInput(0, ranges), 256 * 1024)


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

    def _encode_metadata(self, metadata):
        """The checks of set_metadata, shared by both outputs; returns the JSON to send."""
        if self.metadata_set:
            raise IOError('set_metadata may be called only once')
        if not isinstance(metadata, dict):
            raise TypeError('metadata must be a dict')
        encoded = json.dumps(dict((str(k), str(v)) for k, v in metadata.items()))
        if len(encoded.encode('utf-8')) > MAX_METADATA_BYTES:
            raise IOError('metadata is larger than %d bytes' % MAX_METADATA_BYTES)
        return encoded

    def set_metadata(self, metadata):
        encoded = self._encode_metadata(metadata)
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
    in_files = [StorletInputFile(open_input(), read_json(os.path.join(DEV, 'meta-in'), {}))]
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


class FrameChannel(object):
    """The worker's end of the control socket: call lines in, frames out."""

    def __init__(self, fd):
        self._sock = socket.socket(fileno=fd)
        self._lines = self._sock.makefile('rb')

    def next_call(self):
        line = self._lines.readline()
        return json.loads(line) if line else None

    def send(self, kind, payload):
        if isinstance(payload, str):
            payload = payload.encode('utf-8', 'replace')
        self._sock.sendall(struct.pack('>cI', kind, len(payload)))
        if payload:
            self._sock.sendall(payload)


class FrameText(io.TextIOBase):
    """A text stream whose writes become frames of one kind (stderr, log)."""

    def __init__(self, channel, kind):
        io.TextIOBase.__init__(self)
        self._channel = channel
        self._kind = kind

    def writable(self):
        return True

    def write(self, text):
        if text:
            self._channel.send(self._kind, text)
        return len(text)


class FramedOutputFile(StorletOutputFile):
    """The output of a warm call: metadata, then data, as frames on the control socket."""

    def __init__(self, channel):
        StorletOutputFile.__init__(self, None, None)
        self._channel = channel
        self._closed = False

    def set_metadata(self, metadata):
        encoded = self._encode_metadata(metadata)
        self._channel.send(b'M', encoded)
        self.metadata_set = True

    def write(self, data):
        if not self.metadata_set:
            raise IOError('set_metadata must be called before writing data')
        if self._closed:
            raise IOError('write to a closed output')
        if isinstance(data, str):
            data = data.encode('utf-8')
        if data:
            self._channel.send(b'D', bytes(data))

    def flush(self):
        pass

    def close(self):
        self._closed = True


# Set by the launcher of a warm worker, whose PID namespace holds only this shim and what storlet
# code starts. Run by hand on a host, the shim must never signal the host's processes.
IN_OWN_PID_NAMESPACE = os.environ.get('CAIRN_OWN_PID_NAMESPACE') == '1'


def kill_strays():
    """Processes a call left behind would leak into the next call of this warm worker."""
    if not IN_OWN_PID_NAMESPACE:
        return
    me = os.getpid()
    try:
        pids = [int(p) for p in os.listdir('/proc') if p.isdigit()]
    except OSError:
        return
    for pid in pids:
        if pid not in (1, me):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    # Every child was just sent SIGKILL, so waiting for all of them is bounded.
    try:
        while True:
            os.waitpid(-1, 0)
    except ChildProcessError:
        pass


def clear_tmp():
    """The next call starts from an empty /tmp, as a cold sandbox would."""
    os.chdir('/tmp')
    for entry in os.listdir('/tmp'):
        p = os.path.join('/tmp', entry)
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.unlink(p)
        except OSError:
            pass


def open_call_input(req):
    fd = os.open(req['input'], os.O_RDONLY)
    if req.get('ranges') is None:
        return os.fdopen(fd, 'rb')
    return io.BufferedReader(RangedInput(fd, req['ranges']), 256 * 1024)


def serve(main_class):
    module_name, class_name = main_class.split('.')
    channel = FrameChannel(3)
    sys.stdout = sys.stderr = FrameText(channel, b'E')
    sys.path.insert(0, CODE_DIR)
    storlet_class = None
    channel.send(b'R', b'')
    while True:
        req = channel.next_call()
        if req is None:
            return
        logger = StorletLogger(FrameText(channel, b'L'))
        params = dict(req.get('params') or {})
        params['storlet_execution_path'] = CODE_DIR
        out = FramedOutputFile(channel)
        in_files = []
        code = 0
        try:
            in_files.append(StorletInputFile(open_call_input(req), req.get('meta') or {}))
            for extra in req.get('extras') or []:
                in_files.append(StorletInputFile(open(extra['path'], 'rb'), extra.get('meta') or {}))
            if storlet_class is None:
                storlet_class = getattr(importlib.import_module(module_name), class_name)
            storlet_class(logger)(in_files, [out], params)
        except Exception:
            logger.exception('storlet %s raised' % main_class)
            traceback.print_exc()
            code = EXIT_RAISED
        except SystemExit as e:
            # As in a one-shot run: exiting with 0 ends the call normally, anything else fails it.
            if e.code not in (None, 0):
                sys.stderr.write('storlet %s exited with %s\n' % (main_class, e.code))
                code = EXIT_RAISED
        if code == 0 and not out.metadata_set:
            sys.stderr.write('storlet %s never called set_metadata on its output\n' % main_class)
            code = EXIT_NO_METADATA
        for f in in_files:
            try:
                f.close()
            except Exception:
                pass
        kill_strays()
        clear_tmp()
        channel.send(b'X', json.dumps({'code': code}))


if __name__ == '__main__':
    if len(sys.argv) > 2 and sys.argv[1] == '--serve':
        serve(sys.argv[2])
    else:
        main()
