"""The scale-out online store: one Redis hash per (view, entity key), `t` event time, `v` payload.

Writes go through a small Lua script (newer event time wins, atomically per key) sent in
pipelines of ``batch`` commands; reads are one ``HMGET`` per key in one pipeline (one round trip).
Keys are ``{prefix}{view}:{entity key}``, so several workspaces (or tests) can share a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from falaj.errors import BackendUnavailableError
from falaj.features.online.base import OnlineRow

__all__ = ["RedisOnlineStore"]

_NEWER_WINS = """
local cur = redis.call('HGET', KEYS[1], 't')
if (not cur) or tonumber(cur) <= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 't', ARGV[1], 'v', ARGV[2])
  return 1
end
return 0
"""


class RedisOnlineStore:
    def __init__(self, url: str, *, prefix: str = "falaj:", batch: int = 5000) -> None:
        import redis

        self._prefix = prefix
        self._batch = batch
        try:
            self._client: Any = redis.Redis.from_url(url)
            self._client.ping()
            self._sha: str = self._client.script_load(_NEWER_WINS)
        except redis.RedisError as exc:
            raise BackendUnavailableError(f"online store Redis is unavailable: {exc}") from exc

    @property
    def kind(self) -> str:
        return "redis"

    def _key(self, view: str, key: str) -> str:
        return f"{self._prefix}{view}:{key}"

    def write(self, view: str, rows: Sequence[OnlineRow]) -> int:
        import redis

        try:
            for start in range(0, len(rows), self._batch):
                pipe = self._client.pipeline(transaction=False)
                for key, ts, payload in rows[start : start + self._batch]:
                    pipe.evalsha(self._sha, 1, self._key(view, key), repr(float(ts)), payload)
                pipe.execute()
        except redis.exceptions.NoScriptError:  # the server was flushed or restarted
            self._sha = self._client.script_load(_NEWER_WINS)
            return self.write(view, rows)
        except redis.RedisError as exc:
            raise BackendUnavailableError(f"online store Redis write failed: {exc}") from exc
        return len(rows)

    def read(self, view: str, keys: Sequence[str]) -> dict[str, tuple[float, bytes]]:
        import redis

        unique = list(dict.fromkeys(keys))
        try:
            if len(unique) == 1:
                results = [self._client.hmget(self._key(view, unique[0]), "t", "v")]
            else:
                pipe = self._client.pipeline(transaction=False)
                for key in unique:
                    pipe.hmget(self._key(view, key), "t", "v")
                results = pipe.execute()
        except redis.RedisError as exc:
            raise BackendUnavailableError(f"online store Redis read failed: {exc}") from exc
        out: dict[str, tuple[float, bytes]] = {}
        for key, (ts, payload) in zip(unique, results, strict=True):
            if ts is not None and payload is not None:
                out[key] = (float(ts), bytes(payload))
        return out

    def drop_view(self, view: str) -> None:
        pattern = f"{self._prefix}{view}:*"
        batch: list[bytes] = []
        for key in self._client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                self._client.unlink(*batch)
                batch = []
        if batch:
            self._client.unlink(*batch)

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return f"RedisOnlineStore(prefix={self._prefix!r})"
