"""Fixtures that start real `osprey serve` processes on free ports (the default SmolLM2 model)."""
import os
import socket
import subprocess
import time

import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("OSPREY_BIN", os.path.join(ROOT, ".build", "release", "osprey"))
MODEL_NAME = "smollm2"
API_KEY = "test-key-123"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, *extra_args, env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [BINARY, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--served-model-name", MODEL_NAME, "--max-model-len", "2048", *extra_args]
        environment = dict(os.environ)
        environment.pop("OSPREY_API_KEY", None)
        environment.pop("VLLM_API_KEY", None)
        environment.update(env or {})
        self.log = open(os.path.join(ROOT, ".build", f"e2e-server-{self.port}.log"), "w")
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=environment)
        deadline = time.time() + 180
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"osprey serve exited with {self.process.returncode}; see {self.log.name}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError("osprey serve did not become healthy")

    @property
    def base_url(self):
        return self.url + "/v1"

    def stop(self):
        """SIGTERM, as a service manager would: the server drains and exits 0."""
        self.process.terminate()
        try:
            return self.process.wait(timeout=60)
        finally:
            self.log.close()


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    code = s.stop()
    assert code == 0, f"server exit code {code} after SIGTERM"


@pytest.fixture(scope="session")
def keyed_server():
    s = Server(env={"OSPREY_API_KEY": API_KEY})
    yield s
    s.stop()


@pytest.fixture(scope="session")
def client(server):
    import openai
    return openai.OpenAI(base_url=server.base_url, api_key="unused")
