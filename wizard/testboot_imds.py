"""A loopback instance-metadata stub that speaks IMDSv2, for test-boot launches.

It answers like EC2's metadata service for the few paths a first boot needs (instance id,
AMI id, the launch key), only to requests that carry a session token from `PUT api/token`;
a plain IMDSv1 GET is refused with 401, as on an instance that requires IMDSv2. Every request
is recorded so the report can say what the image asked for and how.
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger(__name__)

TOKEN_PATH = "/latest/api/token"  # noqa: S105 - a URL path
TOKEN_HEADER = "X-aws-ec2-metadata-token"  # noqa: S105 - a header name
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"


@dataclass(frozen=True)
class LaunchMetadata:
    """What one launch is told about itself."""

    instance_id: str
    ami_id: str
    public_key: str  # the launch key pair's public half, one OpenSSH line
    hostname: str = "ip-10-0-0-1.ec2.internal"

    def paths(self) -> dict[str, str]:
        base = "/latest/meta-data"
        return {
            f"{base}/instance-id": self.instance_id,
            f"{base}/ami-id": self.ami_id,
            f"{base}/hostname": self.hostname,
            f"{base}/local-hostname": self.hostname,
            f"{base}/public-keys/": "0=test-boot-launch",
            f"{base}/public-keys/0/": "openssh-key",
            f"{base}/public-keys/0/openssh-key": self.public_key + "\n",
        }


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    token: bool  # carried a valid session token
    status: int


@dataclass
class Log:
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, request: Request) -> None:
        with self.lock:
            self.requests.append(request)

    def snapshot(self) -> tuple[Request, ...]:
        with self.lock:
            return tuple(self.requests)


class MetadataStub:
    """The stub for one launch; `listen` makes the listening socket (in the right netns)."""

    def __init__(
        self, meta: LaunchMetadata, listen: Callable[[], socket.socket], allow_v1: bool = False
    ) -> None:
        self.meta = meta
        self.log = Log()
        self.tokens: set[str] = set()
        self.allow_v1 = allow_v1
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler, bind_and_activate=False)
        self.server.socket.close()
        self.server.socket = listen()
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MetadataStub:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                log.debug("imds stub: " + format, *args)

            def _reply(self, status: int, body: str = "", token: bool = False) -> None:
                stub.log.add(Request(self.command, self.path, token, status))
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self) -> None:
                if self.path != TOKEN_PATH:
                    self._reply(404)
                elif not (self.headers.get(TTL_HEADER) or "").isdigit():
                    self._reply(400)  # EC2 requires the TTL header on the token request
                else:
                    token = secrets.token_urlsafe(32)
                    stub.tokens.add(token)
                    self._reply(200, token)

            def do_GET(self) -> None:
                has_token = self.headers.get(TOKEN_HEADER, "") in stub.tokens
                if not has_token and not stub.allow_v1:
                    self._reply(401)
                    return
                body = stub.meta.paths().get(self.path)
                self._reply(404 if body is None else 200, body or "", has_token)

        return Handler
