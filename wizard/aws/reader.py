"""One boto3 session's clients (thread-safe to open) and the one-line reasons a call failed.

Every area the gatherer reads goes through `Reader.area`: a failure is recorded as a reason
(never a Python exception text) and the area's empty default is returned, so the other areas
still run. An API the endpoint or region lacks reads "not available at this endpoint/region";
a denied call names the permission the caller needs.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from wizard.account_facts import UNAVAILABLE

log = logging.getLogger(__name__)

ENDPOINT_ENV = "AMI_WIZARD_AWS_ENDPOINT_URL"
MAX_PAGES = 50  # a bound on every paginated listing, so a huge account cannot stall the audit

# Error codes that mean "this principal may not read that": the check errors, the rest run.
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedException",
        "AuthorizationError",
        "AuthFailure",
    }
)
# Codes that mean "no such API here" (an opt-in region, a partition without the service, an
# emulator that lacks it).
MISSING_CODES = frozenset(
    {
        "InvalidAction",
        "UnknownOperationException",
        "UnsupportedOperation",
        "UnsupportedOperationException",
        "NotImplemented",
        "OptInRequired",
        "InvalidClientTokenId",
        "SubscriptionRequiredException",
    }
)
# boto service name -> the IAM action prefix, where they differ
ACTION_PREFIX = {"accessanalyzer": "access-analyzer", "s3control": "s3", "configservice": "config"}

T = TypeVar("T")


class Reader:
    """Opens clients from one session (under a lock) and records why an area was unreadable."""

    def __init__(self, session: Any, endpoint_url: str | None = None) -> None:
        from botocore.config import Config

        self.session = session
        self.endpoint_url = endpoint_url or os.environ.get(ENDPOINT_ENV) or None
        self.config = Config(
            connect_timeout=5,
            read_timeout=20,
            retries={"max_attempts": 2, "mode": "standard"},
            max_pool_connections=4,
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.session.region_name)
        with self._lock:  # boto3 sessions are not thread-safe; the clients they make are
            if key not in self._clients:
                self._clients[key] = self.session.client(
                    service,
                    region_name=key[1],
                    endpoint_url=self.endpoint_url,
                    config=self.config,
                )
                if service == "s3control" and self.endpoint_url:
                    self._clients[key].meta.events.register(
                        "before-send.s3-control", drop_account_label
                    )
            return self._clients[key]


def drop_account_label(request: Any, **_: Any) -> None:
    """S3 Control puts ACCOUNT. before the host; a custom endpoint (an emulator) has no such
    name. Only registered when an endpoint URL is configured (see DESIGN, moto)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(request.url)
    host, _, rest = parts.netloc.partition(".")
    if host.isdigit() and rest:
        request.url = urlunsplit(parts._replace(netloc=rest))


class Areas:
    """Why each area could not be read, for one scope (the global services or one region)."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def area(self, name: str, service: str, read: Callable[[], T], default: Any) -> T:
        """Run `read`; on any failure note the reason under `name` and return `default`."""
        try:
            return read()
        except Exception as exc:  # a denied or unsupported API must not stop the other areas
            self.errors[name] = reason(exc, service)
            log.info("account area %s unreadable: %s", name, self.errors[name])
            log.debug("account area %s", name, exc_info=True)
            return default


def code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _status(exc: BaseException) -> int:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 0


def reason(exc: BaseException, service: str = "") -> str:
    """One line saying why a call failed: never a Python exception text or an HTML page."""
    op = getattr(exc, "operation_name", "") or ""
    err = code(exc)
    if err in DENIED_CODES:
        prefix = ACTION_PREFIX.get(service, service)
        needed = f"{prefix}:{op}" if prefix and op else op or "read access"
        return f"permission denied: the caller needs {needed}"
    text = str(exc)
    status = _status(exc)
    missing = (
        err in MISSING_CODES
        # an HTTP error with no AWS error code: a web server's page, not an AWS service
        or (status in (404, 405, 500, 501) and (err.isdigit() or not err))
        or "invalid XML received" in text
        or "<!doctype" in text.lower()
        or "not been implemented" in text
        or type(exc).__name__ in ("UnknownServiceError", "ResponseParserError")
    )
    if missing:
        return f"{UNAVAILABLE} ({op})" if op else UNAVAILABLE
    if err:
        message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", "")).strip()
        first = message.splitlines()[0][:200] if message and not message.startswith("<") else ""
        return f"{op or 'call'} failed: {err}" + (f" ({first})" if first else "")
    name = type(exc).__name__
    if "Timeout" in name or "Connect" in name or "Endpoint" in name:
        return "could not reach the AWS endpoint (network or timeout)"
    if "Credential" in name or "NoRegion" in name:
        return "no usable AWS credentials or region"
    if isinstance(exc, TimeoutError):
        return "timed out waiting for AWS"
    # our own bug: say so in one line; the detail is in the debug log
    return "could not be read (an internal error of the wizard; see --debug)"


def pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    """Items under `key` across at most MAX_PAGES pages of a listing."""
    if client.can_paginate(operation):
        for n, page in enumerate(client.get_paginator(operation).paginate(**kwargs)):
            if n >= MAX_PAGES:
                log.warning("%s: stopped after %d pages", operation, MAX_PAGES)
                break
            yield from page.get(key, [])
    else:
        yield from getattr(client, operation)(**kwargs).get(key, [])


def document(raw: Any) -> Mapping[str, Any]:
    """Policy documents come decoded from boto3, but some endpoints send URL-encoded JSON."""
    if isinstance(raw, Mapping):
        return raw
    if isinstance(raw, str):
        from urllib.parse import unquote

        for text in (raw, unquote(raw)):
            try:
                loaded = json.loads(text)
            except ValueError:
                continue
            return loaded if isinstance(loaded, Mapping) else {}
    return {}
