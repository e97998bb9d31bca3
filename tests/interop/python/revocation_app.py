"""Run by tests/revocation_fleet.rs with the venv python/ci.sh builds: a FastAPI service on
127.0.0.1 (a free port, printed as `listening <port>` on stdout) verifying a mock provider's
tokens with revocation shared through Redis, as one instance of a mixed Rust/Python fleet.
Reads its settings as one line of JSON on stdin: preset, params, redis_url, prefix."""

import json
import socket
import sys
import threading
import time

import uvicorn
from fastapi import Depends, FastAPI

from jwks_auth import AuthUser, Provider, RedisRevocationStore, Verifier
from jwks_auth.fastapi import configure, current_user

given = json.loads(sys.stdin.readline())
store = RedisRevocationStore.connect_sync(given["redis_url"], prefix=given["prefix"])
verifier = Verifier(Provider.preset(given["preset"], **given["params"]), revocation=store)
app = FastAPI()
configure(app, verifier)


@app.get("/api/me")
async def me(user: AuthUser = Depends(current_user)):
    return {"id": user.id}


@app.post("/api/logout", status_code=204)
async def logout(user: AuthUser = Depends(current_user)):
    await verifier.revocations.revoke_session(user.claims["sid"])


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
thread.start()
while not server.started:
    time.sleep(0.01)
print(f"listening {listener.getsockname()[1]}", flush=True)
# Serves until the test closes stdin (or kills this process).
sys.stdin.read()
server.should_exit = True
thread.join(timeout=10)
