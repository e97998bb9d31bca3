"""A real Better Auth server for the tests: ``tests/interop/better-auth/server.mjs`` (the
same project the Rust interop tests use), started with node.

Installs the pinned npm dependencies once (``npm ci``, behind the same ``.npm-ci.lock``
directory lock as ``tests/support/node.rs``), spawns the server, reads its one
``listening <url>`` line, and stops it on ``close()`` (it also exits when its stdin closes,
so it never outlives the test process). Without node or npm the test fails, saying so.
"""

import os
import pathlib
import queue
import shutil
import subprocess
import threading
import time

import httpx

PROJECT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "interop" / "better-auth"
STARTUP_TIMEOUT = 60.0
INSTALL_TIMEOUT = 600.0
STALE_LOCK = 900.0


def ensure_installed() -> None:
    if shutil.which("node") is None:
        raise RuntimeError("the Better Auth interop test needs node (>= 20.19) on PATH")
    installed = PROJECT / "node_modules" / ".package-lock.json"
    if installed.is_file():
        return
    if shutil.which("npm") is None:
        raise RuntimeError("the Better Auth interop test needs npm on PATH for `npm ci`")
    lock = PROJECT / ".npm-ci.lock"
    deadline = time.monotonic() + INSTALL_TIMEOUT
    while True:
        try:
            lock.mkdir()
            break
        except FileExistsError:
            if time.time() - lock.stat().st_mtime > STALE_LOCK:
                lock.rmdir()
                continue
            if installed.is_file():
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {lock}")
            time.sleep(0.5)
    try:
        if not installed.is_file():
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"],
                cwd=PROJECT,
                check=True,
                timeout=INSTALL_TIMEOUT,
                stdout=subprocess.DEVNULL,
            )
    finally:
        lock.rmdir()


class BetterAuthServer:
    """``server.mjs`` signing with ``alg``; ``url`` is its origin (issuer and audience)."""

    def __init__(self, alg: str = "EdDSA") -> None:
        ensure_installed()
        env = dict(os.environ, JWT_ALG=alg, BETTER_AUTH_TELEMETRY="0", PORT="0")
        env.pop("ROTATION_INTERVAL", None)
        env.pop("GRACE_PERIOD", None)
        self._process = subprocess.Popen(
            ["node", "server.mjs"],
            cwd=PROJECT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        lines: "queue.Queue[str]" = queue.Queue()
        assert self._process.stdout is not None
        stdout = self._process.stdout
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=STARTUP_TIMEOUT)
        except queue.Empty:
            self.close()
            raise RuntimeError("Better Auth server did not print its listening line") from None
        if not line.startswith("listening "):
            self.close()
            raise RuntimeError(f"Better Auth server failed to start: {line!r}")
        self.url = line.split(" ", 1)[1].strip()
        self.http = httpx.Client(base_url=f"{self.url}/api/auth", timeout=30)

    def sign_up(self, email: str, name: str, password: str = "password1234"):
        """``POST /sign-up/email``: the user id and the session token."""
        response = self.http.post(
            "/sign-up/email", json={"email": email, "password": password, "name": name}
        )
        # No cookie jar, like the Rust tests' client (Better Auth wants an Origin with cookies).
        self.http.cookies.clear()
        response.raise_for_status()
        body = response.json()
        return body["user"]["id"], body["token"]

    def jwt(self, session: str) -> str:
        """``GET /token`` with the session as a bearer token: the JWT."""
        response = self.http.get("/token", headers={"Authorization": f"Bearer {session}"})
        self.http.cookies.clear()
        response.raise_for_status()
        return response.json()["token"]

    def close(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if hasattr(self, "http"):
            self.http.close()
