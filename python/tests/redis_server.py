"""A real ``redis-server`` on loopback for the Redis tests (the Python twin of
``tests/support/redis.rs``): ``--port <free> --save '' --appendonly no``, killed by
``kill()``. The ``redis_server`` fixtures (conftest.py) skip when the binary is not on PATH.
"""

import socket
import subprocess
import time
from typing import List, Optional

STARTUP_TIMEOUT = 20.0
PORT_ATTEMPTS = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _command(*words: bytes) -> bytes:
    parts = [b"*%d\r\n" % len(words)]
    parts += [b"$%d\r\n%s\r\n" % (len(word), word) for word in words]
    return b"".join(parts)


def _has_pid_line(reply: bytes) -> bool:
    _, found, rest = reply.partition(b"process_id:")
    return bool(found) and b"\r\n" in rest


def server_pid(port: int, password: Optional[str] = None) -> Optional[int]:
    """The ``process_id`` the server on ``port`` reports (``INFO server``, after ``AUTH``
    when it has a password), if one answers."""
    request = _command(b"INFO", b"server")
    if password:
        request = _command(b"AUTH", password.encode()) + request
    reply = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(request)
            # Until the `process_id:` line is complete (the reply puts it early).
            while not _has_pid_line(reply):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                reply += chunk
    except OSError:
        return None
    for line in reply.decode(errors="replace").splitlines():
        if line.startswith("process_id:"):
            return int(line[len("process_id:") :].strip())
    return None


class RedisServer:
    """One ``redis-server`` child process on a free loopback port (``requirepass
    <password>`` when ``password`` is given)."""

    def __init__(self, binary: str, password: Optional[str] = None) -> None:
        self.binary = binary
        self.password = password
        self.port = 0
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> "RedisServer":
        """Starts the server; raises when no free port worked."""
        # A port found free can be taken by another server before ours binds it: then ours
        # exits (or another answers as itself) and the next port is tried.
        for _ in range(PORT_ATTEMPTS):
            self.port = free_port()
            if self._spawn_and_wait():
                return self
        raise RuntimeError(f"redis-server did not start on any of {PORT_ATTEMPTS} free ports")

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/``, with the password when there is one."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/"

    def kill(self) -> None:
        """Kills the server as a crash would (no shutdown, no save)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def _args(self) -> List[str]:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        return args

    def _spawn_and_wait(self) -> bool:
        """Spawns the server; true once it answers as itself (this child, not another
        server on a reused port)."""
        self.kill()
        process = subprocess.Popen(
            self._args(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.process = process
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.process = None
                return False
            if server_pid(self.port, self.password) == process.pid:
                return True
            time.sleep(0.02)
        self.kill()
        return False
