"""An example FastAPI service protected by jwks_auth.

    python python/examples/fastapi_app.py            # an embedded mock provider (no account)
    AUTH_URL=https://auth.example.com python python/examples/fastapi_app.py  # real Better Auth

With the mock (the default) it prints a token to try:

    curl -H "Authorization: Bearer <token>" http://127.0.0.1:8000/api/me
    curl -X POST -H "Authorization: Bearer <token>" http://127.0.0.1:8000/api/logout  # 204
    curl -H "Authorization: Bearer <token>" http://127.0.0.1:8000/api/me  # now 401

Needs `pip install jwks_auth-*.whl fastapi uvicorn`. HOST / PORT pick the address.
"""

import os
from typing import Optional

from fastapi import Depends, FastAPI, HTTPException, Response

from jwks_auth import AuthUser, InMemoryRevocationStore, Provider, Verifier
from jwks_auth.fastapi import (
    AuthMiddleware,
    configure,
    current_user,
    get_verifier,
    optional_user,
    require_same_user,
    require_scopes,
)


def build_app(verifier: Verifier) -> FastAPI:
    app = FastAPI(title="jwks-auth example")
    configure(app, verifier)
    # The seeds' "guard every /api/* route": refused before any route runs.
    app.add_middleware(AuthMiddleware, public_paths=["/api/health"])

    @app.get("/api/health")
    async def health():
        return {"ok": True}

    @app.get("/api/me")
    async def me(user: AuthUser = Depends(current_user)):
        return {"id": user.id, "email": user.email, "scopes": user.scopes}

    @app.get("/api/notes", dependencies=[Depends(require_scopes("read:notes"))])
    async def notes():
        return {"notes": ["hello"]}

    @app.get("/api/users/{user_id}")
    async def profile(user_id: str, user: AuthUser = Depends(require_same_user("user_id"))):
        return {"id": user_id}

    @app.post("/api/logout", status_code=204)
    async def logout(
        user: AuthUser = Depends(current_user), verifier: Verifier = Depends(get_verifier)
    ) -> Response:
        """Revokes the token's session (its `sid`), or every token of the user issued until
        now when it names no session: the same token is refused (401) from now on."""
        revocations = verifier.revocations
        if revocations is None:
            raise HTTPException(501, "revocation is off: build the Verifier with revocation=")
        sid = user.claims.get("sid")
        if isinstance(sid, str) and sid:
            await revocations.revoke_session(sid)
        else:
            await revocations.revoke_user(user.id)
        return Response(status_code=204)

    @app.get("/")
    async def index(user: Optional[AuthUser] = Depends(optional_user)):
        return {"hello": user.id if user else "anonymous"}

    return app


def main() -> None:
    import uvicorn

    mock = None
    if os.environ.get("AUTH_URL"):
        provider = Provider.better_auth(os.environ["AUTH_URL"])
    else:
        from jwks_auth.testing import MockProvider

        mock = MockProvider("better-auth")
        provider = mock.provider()
        token = mock.token().sub("user_demo").sid("sess_demo").scope("read:notes").sign()
        print(f"mock provider at {mock.uri}; a token for user_demo (15 min):\n{token}\n")
    # One process: revocations in memory (a fleet shares a RedisRevocationStore).
    verifier = Verifier(provider, revocation=InMemoryRevocationStore())
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    try:
        uvicorn.run(build_app(verifier), host=host, port=port)
    finally:
        if mock is not None:
            mock.close()


if __name__ == "__main__":
    main()
