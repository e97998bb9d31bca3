"""The app the middleware tests guard: ``configure`` + ``AuthMiddleware`` over ``/api/``."""

from fastapi import Depends, FastAPI, Request, WebSocket

from jwks_auth import AuthUser, Verifier
from jwks_auth.fastapi import AuthMiddleware, configure, current_user


def guarded_app(verifier: Verifier, **middleware_options) -> FastAPI:
    """HTTP: ``/api/secret`` (the user's id), ``/api/public``, ``/health``. WebSockets that
    echo ``"<user id>:<message>"``: ``/api/ws``, ``/api/public-ws``, ``/ws``; and
    ``/api/ws-me``, sending ``current_user``'s id. Public: ``/api/public``, ``/api/public-ws``.
    """
    app = FastAPI()
    configure(app, verifier)
    public_paths = ["/api/public", "/api/public-ws"]
    app.add_middleware(AuthMiddleware, public_paths=public_paths, **middleware_options)

    @app.get("/api/secret")
    async def secret(request: Request):
        # Unguarded, this answers 200 with no user (rather than failing on a missing one).
        user = getattr(request.state, "user", None)
        return {"id": user.id if user else None}

    @app.get("/api/public")
    async def public():
        return {"public": True}

    @app.get("/health")
    async def health():
        return {"ok": True}

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        user = getattr(websocket.state, "user", None)
        message = await websocket.receive_text()
        await websocket.send_text(f"{user.id if user else None}:{message}")
        await websocket.close()

    for path in ["/api/ws", "/api/public-ws", "/ws"]:
        app.add_api_websocket_route(path, echo)

    @app.websocket("/api/ws-me")
    async def me(websocket: WebSocket, user: AuthUser = Depends(current_user)):
        await websocket.accept()
        await websocket.send_text(user.id)
        await websocket.close()

    return app


def without_denial_responses(app):
    """``app`` as served by a server without the ``"websocket.http.response"`` extension."""

    async def served(scope, receive, send):
        if scope["type"] == "websocket":
            scope = {**scope, "extensions": {}}
        await app(scope, receive, send)

    return served
