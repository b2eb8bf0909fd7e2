"""The HTTP session of a remote workspace: base URL, bearer token, errors back into the tree.

Every answer that is not 2xx becomes the :class:`~falaj.errors.FalajError` subclass the server
mapped it from (401 :class:`AuthenticationError`, 403 :class:`PermissionDeniedError`, 404
:class:`NotFoundError`...), with the server's message; a server that cannot be reached is
:class:`BackendUnavailableError`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import httpx

from falaj.errors import (
    AlreadyExistsError,
    BackendUnavailableError,
    ConflictError,
    FalajError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    PolicyViolationError,
)
from falaj.governance.identity.errors import AuthenticationError, RateLimitedError

__all__ = ["Http", "NotSupportedRemotelyError", "RemotePart", "error_from"]


class NotSupportedRemotelyError(InvalidInputError):
    """A workspace feature the remote client does not offer (use an embedded workspace)."""


class RemotePart:
    """Base of the remote services: a method the embedded service has and this one lacks
    raises :class:`NotSupportedRemotelyError` naming it, not an AttributeError."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        area = type(self).__name__.removeprefix("Remote").lower()
        raise NotSupportedRemotelyError(
            f"{area}.{name} is not available on a remote workspace (use an embedded one)"
        )


_BY_STATUS: dict[int, type[FalajError]] = {
    400: InvalidInputError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: InvalidInputError,
    422: InvalidInputError,
    503: BackendUnavailableError,
}
_AREAS = ("falaj.tracking.errors", "falaj.registry.errors", "falaj.data.errors")


@lru_cache(maxsize=1)
def _by_type() -> dict[str, type[FalajError]]:
    """Every FalajError subclass by name (the server sends the name), so a remote caller can
    catch ``RunNotFoundError`` exactly as an embedded one does."""
    for module in _AREAS:
        importlib.import_module(module)
    found: dict[str, type[FalajError]] = {}
    pending: list[type[FalajError]] = [FalajError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.__name__, cls)
        pending.extend(cls.__subclasses__())
    found["PolicyViolationError"] = PolicyViolationError
    return found


def error_from(response: httpx.Response) -> FalajError:
    try:
        body = response.json()
        kind = str(body["error"]["type"])
        message = str(body["error"]["message"])
    except Exception:
        kind, message = "HTTPError", response.text[:500] or response.reason_phrase
    if response.status_code == 429:
        retry = float(response.headers.get("retry-after", "1") or 1)
        return RateLimitedError(message, retry_after=retry)
    fallback = _BY_STATUS.get(response.status_code, FalajError)
    if response.status_code == 409 and kind.endswith("ExistsError"):
        fallback = AlreadyExistsError
    family: tuple[type[FalajError], ...] = (fallback,)
    if response.status_code == 409:
        family = (AlreadyExistsError, ConflictError, PolicyViolationError)
    cls = _by_type().get(kind)
    if cls is not None and issubclass(cls, family):
        try:
            return cls(message)
        except TypeError:  # a subclass with its own constructor
            pass
    return fallback(message)


class Http:
    """A thin wrapper over :class:`httpx.Client` rooted at ``{url}/api/v1``."""

    def __init__(
        self, url: str, token: str | None, *, timeout: float = 60.0, verify: bool | str = True
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise InvalidInputError(
                f"server URL {str(url)[:100]!r} is invalid: expected http(s)://HOST[:PORT]"
            )
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(
            base_url=f"{self.url}/api/v1", headers=headers, timeout=timeout, verify=verify
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise BackendUnavailableError(
                f"cannot reach the Falaj server at {self.url}: {exc}"
            ) from exc
        if response.status_code >= 400:
            raise error_from(response)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, **kwargs).json()

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs).json()

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs).json()

    @contextmanager
    def stream(self, path: str) -> Iterator[httpx.Response]:
        try:
            with self._client.stream("GET", path) as response:
                if response.status_code >= 400:
                    response.read()
                    raise error_from(response)
                yield response
        except httpx.HTTPError as exc:
            raise BackendUnavailableError(
                f"cannot reach the Falaj server at {self.url}: {exc}"
            ) from exc

    def close(self) -> None:
        self._client.close()
