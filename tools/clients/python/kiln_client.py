"""A Python client for Kiln's supervisor (docs/protocol.md): MessagePack maps over a ZeroMQ
DEALER socket. Needs pyzmq and msgpack (Debian: python3-zmq python3-msgpack).

    from kiln_client import Client
    with Client("ipc:///run/user/1000/kiln/default.sock") as c:
        print(c.predict(prompt="Hello")["text"])              # blocking
        for chunk in c.predict_stream(messages=[{"role": "user", "content": "Hi"}]):
            print(chunk.get("text", ""), end="", flush=True)   # streaming

Big results arrive inline, in chunks (reassembled here), or -- for ipc:// clients created
with use_shm=True -- in shared memory (read and released here). Such clients also send big
inputs (audio, images: bytes of at least shm_input_bytes) in shared-memory segments they
create and hand to the supervisor, which removes them when the job is done with them.
"""
import itertools
import os
import secrets
import time

import msgpack
import zmq

__all__ = ["Client", "KilnError", "default_endpoint"]


class KilnError(Exception):
    """An error reply: `code` is one of the protocol's error codes."""

    def __init__(self, code, message, reply=None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.reply = reply


def default_endpoint(instance="default"):
    """Where `kiln run` listens by default."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    run_dir = f"{xdg}/kiln" if xdg else f"/tmp/kiln-{os.getuid()}"
    return f"ipc://{run_dir}/{instance}.sock"


class Client:
    _ids = itertools.count(1)

    def __init__(self, endpoint=None, server_public_key=None, public_key=None, secret_key=None,
                 use_shm=False, chunk_bytes=1 << 20, shm_input_bytes=64 << 10, instance=None):
        self.endpoint = endpoint or default_endpoint()
        self.use_shm = use_shm
        self.chunk_bytes = chunk_bytes
        self.shm_input_bytes = shm_input_bytes
        self.instance = instance     # the supervisor's; asked with Health when needed
        self._segments = itertools.count(1)
        self._stem = None
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        if server_public_key:
            if not secret_key:
                public_key, secret_key = zmq.curve_keypair()
            self._sock.curve_serverkey = _bytes(server_public_key)
            self._sock.curve_publickey = _bytes(public_key)
            self._sock.curve_secretkey = _bytes(secret_key)
        self._sock.connect(self.endpoint)
        self._stash = []     # replies to other jobs, received while waiting
        self._pieces = {}    # (id, field) -> bytearray of chunked results

    def close(self):
        self._sock.close()
        self._ctx.term()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- sending and receiving

    def send(self, kind, job_id=None, **fields):
        """Sends a job and returns its id (big bytes fields go in chunks)."""
        job_id = job_id if job_id is not None else f"py-{os.getpid()}-{next(self._ids)}"
        req = {"id": job_id, "kind": kind, **{k: v for k, v in fields.items() if v is not None}}
        if self.use_shm:
            req["shm"] = True
        handed = []
        if self.use_shm and self.endpoint.startswith("ipc://"):
            for key, value in list(req.items()):
                if isinstance(value, (bytes, bytearray)) and len(value) >= self.shm_input_bytes:
                    name = self._write_segment(value)
                    handed.append(name)
                    req[key] = {"shm": name, "size": len(value)}
        chunked = {}
        for key, value in list(req.items()):
            if isinstance(value, (bytes, bytearray)) and len(value) > self.chunk_bytes:
                chunked[key] = bytes(value)
                req[key] = {"chunked": len(value)}
        self._sock.send(msgpack.packb(req, use_bin_type=True))
        for key, value in chunked.items():
            for off in range(0, len(value), self.chunk_bytes):
                self._sock.send(msgpack.packb({"kind": "Data", "id": job_id, "field": key, "offset": off,
                                               "data": value[off:off + self.chunk_bytes]}, use_bin_type=True))
        # The supervisor holds the segments for the job from here on (docs/protocol.md).
        for name in handed:
            self._sock.send(msgpack.packb({"kind": "Release", "shm": name}, use_bin_type=True))
        return job_id

    def _write_segment(self, data):
        """Writes `data` to a new POSIX shared-memory segment kiln.<instance>.c.*; its name."""
        if self.instance is None:
            self.instance = self.call("Health", timeout=10)["instance"]
        if self._stem is None:
            self._stem = f"kiln.{self.instance}.c.py{os.getpid()}-{secrets.token_hex(3)}."
        name = f"{self._stem}{next(self._segments)}"
        fd = os.open(os.path.join("/dev/shm", name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return name

    def receive(self, timeout=None):
        """The next reply (chunk, progress, result or error) with blobs as bytes, or None."""
        if self._stash:
            return self._stash.pop(0)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0, deadline - time.monotonic())
            if not self._sock.poll(None if left is None else int(left * 1000)):
                return None
            reply = msgpack.unpackb(self._sock.recv(), raw=False)
            if self._absorb(reply):
                return reply

    def _absorb(self, reply):
        kind = reply.get("type")
        if kind == "data":
            buf = self._pieces.setdefault((_key(reply["id"]), reply["field"]), bytearray())
            off = reply["offset"]
            if len(buf) < off + len(reply["data"]):
                buf.extend(b"\0" * (off + len(reply["data"]) - len(buf)))
            buf[off:off + len(reply["data"])] = reply["data"]
            return False
        for key, value in list(reply.items()):
            if isinstance(value, dict) and set(value) == {"shm", "size"}:
                with open(os.path.join("/dev/shm", value["shm"]), "rb") as f:
                    data = f.read()
                if len(data) != value["size"]:
                    raise KilnError("internal", f"shared memory {value['shm']} holds {len(data)} bytes")
                self._sock.send(msgpack.packb({"kind": "Release", "shm": value["shm"]}, use_bin_type=True))
                reply[key] = data
            elif isinstance(value, dict) and set(value) == {"chunked"}:
                reply[key] = bytes(self._pieces.pop((_key(reply["id"]), key), b""))
        return True

    # ---- the two calling styles

    def call(self, kind, timeout=600, **fields):
        """Sends a job and blocks until its result; raises KilnError on an error reply."""
        result = None
        for update in self.stream(kind, timeout=timeout, **fields):
            result = update
        return result

    def stream(self, kind, timeout=600, **fields):
        """Sends a job and yields its chunks and progress, then its result (the last item).
        Raises KilnError on an error reply, TimeoutError when nothing ends it in time."""
        job_id = self.send(kind, **fields)
        deadline = time.monotonic() + timeout
        while True:
            reply = self.receive(max(0, deadline - time.monotonic()))
            if reply is None:
                raise TimeoutError(f"no reply to job {job_id!r} in {timeout} s")
            if reply.get("id") != job_id:
                self._stash.append(reply)
                continue
            if reply.get("type") == "error":
                raise KilnError(reply.get("code"), reply.get("message"), reply)
            yield reply
            if reply.get("type") == "result":
                return

    # ---- conveniences

    def predict(self, prompt=None, messages=None, tools=None, model=None, **sampling):
        return self.call("Predict", prompt=prompt, messages=messages, tools=tools, model=model, **sampling)

    def predict_stream(self, prompt=None, messages=None, tools=None, model=None, **sampling):
        """Yields the stream's chunks; the final result is not yielded (use stream() for it)."""
        for update in self.stream("PredictStream", prompt=prompt, messages=messages, tools=tools,
                                  model=model, **sampling):
            if update.get("type") == "chunk":
                yield update

    def embed(self, inputs, model=None):
        """Returns a list of float lists (one per input)."""
        import array
        res = self.call("Embedding", input=inputs, model=model)
        values = array.array("f")
        values.frombytes(res["embeddings"])
        dim = res["dim"]
        return [values[i * dim:(i + 1) * dim].tolist() for i in range(res["count"])]

    def status(self):
        return self.call("Status")


def _bytes(key):
    return key.encode() if isinstance(key, str) else key


def _key(job_id):
    return repr(job_id)
