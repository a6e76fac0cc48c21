"""Servers the fault tests own: started on a spare port, stopped and started again at will, and never
the machine's own (which the rest of the suite is using)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A throwaway redis-server that keeps nothing on disk, as the machine's does not."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, spare_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=(self.folder / "redis.log").open("ab"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """Gone at once, like a crash or a restart: nothing flushed, nothing saved."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (make services installs it)")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """A throwaway PostgreSQL cluster on a spare port, run as the ``postgres`` user (the server
    refuses root), that a test may restart under a running import."""

    def __init__(self):
        self.bin = _postgres_bin()
        self.port = spare_port()
        # Somewhere the postgres user can reach (pytest's own folders are root's alone).
        self.folder = Path(tempfile.mkdtemp(prefix="leaderboard-pg-"))
        self.data = self.folder / "data"
        os.chmod(self.folder, 0o755)
        shutil.chown(self.folder, "postgres", "postgres")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _as_postgres(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *command], capture_output=True, text=True, check=check, timeout=60)

    def _ctl(self, action: str, *options: str) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), action, "-D", str(self.data), "-w", "-t", "30",
                          "-l", str(self.folder / "server.log"), *options)

    def start(self) -> None:
        if not self.data.exists():
            self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                              "--no-sync")
        self._ctl("start", "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off")

    def restart(self) -> None:
        """A failover as an import sees it: every connection cut, the server back a moment later."""
        self._ctl("restart", "-m", "fast", "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._ctl("stop", "-m", "immediate")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def own_postgres():
    server = PostgresServer()
    if server.bin is None or shutil.which("runuser") is None:
        pytest.skip("PostgreSQL's server binaries are not installed (make services installs them)")
    server.start()
    yield server
    server.remove()
