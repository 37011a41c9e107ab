"""`genlab report ... --serve`: the page over HTTP on this machine's loopback address only, written again at
every load, so that a run training on a remote machine can be watched through an SSH tunnel."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

from ..errors import ConfigError

HOST = "127.0.0.1"  # never another interface: the page shows config and paths


def make_server(render: Callable[[], Path], port: int) -> ThreadingHTTPServer:
    """A server whose only page, at / (and /report.html), is `render()`'s file, rendered again per request."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  (http.server's name)
            if self.path.split("?", 1)[0] not in ("/", "/report.html", "/index.html"):
                self._send(404, b"not found: this server has one page, at /\n", "text/plain")
                return
            try:
                body = render().read_bytes()
            except Exception as e:  # noqa: BLE001  (say why in the browser and keep serving)
                self._send(500, f"genlab could not write the page: {type(e).__name__}: {e}\n".encode(), "text/plain")
                return
            self._send(200, body, "text/html")

        def _send(self, code: int, body: bytes, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # noqa: A002  (quiet: one line per load is noise)
            pass

    try:
        return ThreadingHTTPServer((HOST, port), Page)
    except OSError as e:
        raise ConfigError(f"cannot serve on {HOST}:{port} ({e.strerror}); choose another --port") from None


def serve(render: Callable[[], Path], port: int) -> None:
    """Serve until Ctrl-C."""
    server = make_server(render, port)
    port = server.server_address[1]
    print(f"serving the page at http://{HOST}:{port}/ (written again at every load; Ctrl-C stops)")
    print(f"  from another machine: ssh -L {port}:{HOST}:{port} THIS-HOST, then open http://localhost:{port}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped serving")
    finally:
        server.server_close()
