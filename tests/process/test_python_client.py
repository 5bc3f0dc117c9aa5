#!/usr/bin/env python3
"""The Python client (tools/clients/python) against a real kiln-supervisor.

usage: test_python_client.py BUILD_BIN_DIR SOURCE_DIR  (ctest runs it with /usr/bin/python3)
"""
import array
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BIN, SOURCE = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(SOURCE, "tools", "clients", "python"))
from kiln_client import Client, KilnError  # noqa: E402

CONFIG = """
instance: {instance}
run_dir: {dir}/run
endpoints: [ipc://{dir}/run/client.sock]
models:
  - name: echo
    plugin: testmodel
    slots: 2
  - name: wide
    plugin: testmodel
    options: {{embedding_dim: 100000, token_delay_ms: 5}}
"""


def main():
    tmp = tempfile.mkdtemp(prefix="kp-", dir="/tmp")
    os.chmod(tmp, 0o700)
    instance = f"py{os.getpid()}"
    with open(f"{tmp}/config.yaml", "w") as f:
        f.write(CONFIG.format(instance=instance, dir=tmp))
    log = open(f"{tmp}/supervisor.log", "w")
    sup = subprocess.Popen([f"{BIN}/kiln-supervisor", "--config", f"{tmp}/config.yaml"], stdout=log, stderr=log)
    endpoint = f"ipc://{tmp}/run/client.sock"
    try:
        with Client(endpoint) as c:
            for _ in range(100):
                try:
                    if c.call("Health", timeout=0.2)["ok"]:
                        break
                except TimeoutError:
                    pass
            # Blocking and streaming calls.
            assert c.predict(prompt="hi")["text"] == "echo: hi"
            chunks = list(c.predict_stream(messages=[{"role": "user", "content": "stream"}]))
            assert "".join(ch["text"] for ch in chunks) == "echo: stream", chunks
            assert [ch["seq"] for ch in chunks] == list(range(len(chunks)))
            last = list(c.stream("PredictStream", prompt="xy", max_tokens=4))[-1]
            assert last["type"] == "result" and last["finish_reason"] == "length", last
            # Embeddings, small and inline.
            vecs = c.embed(["a", "b"])
            assert len(vecs) == 2 and len(vecs[0]) == 64
            assert abs(sum(x * x for x in vecs[0]) - 1.0) < 1e-4
            # Errors carry the protocol's code.
            try:
                c.predict(prompt="x", model="nope")
                raise AssertionError("no error")
            except KilnError as e:
                assert e.code == "unknown_model", e
            # A big input goes out in chunks.
            samples = array.array("f", (0.1 * math.sin(i * 0.01) for i in range(800000)))
            c.chunk_bytes = 1 << 20
            tr = c.call("AudioTranscription", audio=samples.tobytes(), model="echo")
            assert len(tr["segments"]) == 50, tr["segments"][-1]
            assert c.status()["models"][0]["name"] == "echo"
        # Shared memory for an ipc client that opts in, released after reading.
        with Client(endpoint, use_shm=True) as c:
            res = c.call("Embedding", input="kiln", model="wide")
            assert len(res["embeddings"]) == 400000
            deadline = time.time() + 3
            while time.time() < deadline and any(n.startswith(f"kiln.{instance}.") for n in os.listdir("/dev/shm")):
                time.sleep(0.02)
            left = [n for n in os.listdir("/dev/shm") if n.startswith(f"kiln.{instance}.")]
            assert not left, left
            # A big input goes out in a shared-memory segment the client writes; the
            # supervisor removes it once the job is done.
            samples = array.array("f", (0.1 * math.sin(i * 0.01) for i in range(48000)))
            job = c.send("AudioTranscriptionStream", audio=samples.tobytes(), model="echo")
            assert c._stem and c._stem.startswith(f"kiln.{instance}.c.py"), c._stem  # it wrote one
            segments = []
            while True:
                r = c.receive(10)
                assert r is not None and r["id"] == job and r["type"] != "error", r
                if r["type"] == "result":
                    break
                segments.append(r["segment"])
            assert len(r["segments"]) == 3 and len(segments) == 3, r
            deadline = time.time() + 3
            while time.time() < deadline and any(n.startswith(f"kiln.{instance}.") for n in os.listdir("/dev/shm")):
                time.sleep(0.02)
            left = [n for n in os.listdir("/dev/shm") if n.startswith(f"kiln.{instance}.")]
            assert not left, left
        print("python client: all checks passed")
        return 0
    except BaseException:
        log.flush()
        print(open(f"{tmp}/supervisor.log").read(), file=sys.stderr)
        raise
    finally:
        sup.send_signal(signal.SIGTERM)
        try:
            sup.wait(10)
        except subprocess.TimeoutExpired:
            sup.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
