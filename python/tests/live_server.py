"""An ASGI app served by a real uvicorn on 127.0.0.1 (a free port), in a thread."""

import socket
import threading
import time

import uvicorn


class LiveServer:
    """``with LiveServer(app, root_path="/v1") as server: httpx.get(server.url + "/x")``."""

    def __init__(self, app, **config) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        host, port = listener.getsockname()
        self.url = f"http://{host}:{port}"
        self.ws_url = f"ws://{host}:{port}"
        # No access log: a WebSocket URL may carry a token in its query string.
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", access_log=False, **config)
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [listener]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    def __enter__(self) -> "LiveServer":
        return self

    def __exit__(self, *args: object) -> None:
        self.close()
