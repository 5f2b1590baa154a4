"""Fixtures for end-to-end tests of the zentra binary: a free port, a server process, a PostgreSQL."""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINARY = ROOT / ".build" / "debug" / "zentra"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zentra(*args, check=True, timeout=60):
    result = subprocess.run([str(BINARY), *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"zentra {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def call(port, method, path, body=None, key=None, headers=None):
    """One HTTP request; returns (status, headers, parsed JSON or text)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw, response_headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, response_headers = error.code, error.read(), error.headers
    try:
        payload = json.loads(raw)
    except ValueError:
        payload = raw.decode()
    return status, response_headers, payload


def wait_until(what, condition, timeout=30):
    """Polls until `condition()` holds: a bound on how long, never a measure of how fast, so a
    loaded machine only makes a test slower."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting until {what}")


class Server:
    """`zentra serve` as a child process, stopped with SIGTERM."""

    def __init__(self, database, port=None, extra=(), env=None):
        self.port = port or free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="zentra-serve-", suffix=".log", delete=False)
        # One card-data key per database, as every process of a deployment shares one.
        key_file = Path(tempfile.gettempdir()) / f"zentra-e2e-card-{hashlib.sha256(database.encode()).hexdigest()[:16]}.key"
        arguments = list(extra) or ["--card-data-key-file", str(key_file)]
        if "--evidence-key-file" not in arguments:
            arguments += ["--evidence-key-file", str(key_file) + ".evidence"]
        self.process = subprocess.Popen(
            [str(BINARY), "serve", "--port", str(self.port), "--database", database, *arguments],
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited: {self.output()}")
            try:
                if call(self.port, "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"serve did not start: {self.output()}")

    def output(self):
        return Path(self.log.name).read_text()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                raise
        return self.process.returncode


class Postgres:
    """A throwaway PostgreSQL cluster (as the postgres user when run as root: initdb refuses root)."""

    def __init__(self, tls=False):
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        self.bin = bins[-1].parent if bins else Path(shutil.which("initdb")).parent
        self.dir = Path(tempfile.mkdtemp(prefix="zentra-e2e-pg-"))
        self.port = free_port()
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres")
        self.run("initdb", "-D", f"{self.dir}/data", "-U", "postgres", "--auth=trust", "--no-sync")
        if tls:
            self.require_tls()
        self.start()

    def require_tls(self):
        """A self-signed certificate for 127.0.0.1, and TCP connections only over TLS."""
        data = self.dir / "data"
        self.certificate = self.dir / "server.crt"
        subprocess.run(["openssl", "req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(data / "server.key"), "-out", str(self.certificate)],
                       check=True, capture_output=True)
        shutil.copy(self.certificate, data / "server.crt")
        os.chmod(data / "server.key", 0o600)
        with open(data / "postgresql.conf", "a") as conf:
            conf.write("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        (data / "pg_hba.conf").write_text("local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n")
        if os.getuid() == 0:
            for name in ["server.key", "server.crt", "postgresql.conf", "pg_hba.conf"]:
                shutil.chown(data / name, "postgres")

    def run(self, tool, *args):
        command = [str(self.bin / tool), *args]
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self):
        self.run("pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-o",
                 f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self):
        self.run("pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "-w", "stop")

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def destroy(self):
        try:
            self.run("pg_ctl", "-D", f"{self.dir}/data", "-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def built_binary():
    assert BINARY.exists(), "build first: swift build (scripts/test does)"


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite://{tmp_path}/zentra.sqlite"


@pytest.fixture
def postgres():
    cluster = Postgres()
    yield cluster
    cluster.destroy()
