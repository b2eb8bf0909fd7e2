"""The tamper-evident audit chain: every event carries an HMAC over the previous link and itself.

Each record is chained when it is appended, inside the transaction of the change it describes::

    seq      = previous seq + 1             (gap-free: assigned under the chain lock)
    prev_mac = the previous record's mac    (64 zeros for the first chained record)
    mac      = HMAC-SHA256(key, prev_mac || "\\n" || canonical JSON of the record)

The canonical JSON holds every field an auditor reads (ISO 27002 8.15 / NIST AU-3: who
``principal``/``principal_kind``, what ``action``, which ``resource_type``/``resource_id``, when
``occurred_at``, where from ``source``/``region``, ``outcome``, ``request_id``, and the
``details`` with before/after digests where the change knows them), sorted keys, no spaces.

**Concurrency.** Appends are serialized per database: PostgreSQL takes a transaction-scoped
advisory lock before reading the chain head (so several writers, in several processes, append one
after the other); SQLite has one writer (``BEGIN IMMEDIATE``). The lock is released when the
transaction ends, so a rolled-back change leaves no link and no gap.

**What verification proves.** With the key, :func:`verify_chain` finds the first record that was
edited (its MAC no longer matches), deleted (a gap in ``seq``, or a broken link), inserted (no
valid MAC without the key) or reordered (``seq`` is inside the MAC). Cutting records off the
*end* leaves a shorter chain that is still valid: an exported :class:`Checkpoint` (the head's
``seq`` and ``mac``, itself MAC-signed) kept outside the database catches that.

**Existing ledgers.** The migration that introduced the chain recorded a genesis
(``workspace_info["audit_chain_genesis"]``: the last ``seq`` written before it); records up to
it are not chained and not covered; the record right after it must link to 64 zeros.

The key comes from ``FALAJ_AUDIT_KEY`` (at least 32 characters: set it on every host writing to
a shared PostgreSQL database) or from ``<home>/keys/audit.key`` (32 random bytes, mode 0600,
created with the workspace). ``workspace_info["audit_key_id"]`` records which key chained the
ledger, so opening it with another key is refused instead of writing an unverifiable chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from falaj.errors import ConfigError, InvalidInputError
from falaj.governance.keyfile import KEYS_DIR, read_or_create_key_file
from falaj.governance.tables import audit_events
from falaj.store.metadata_store import MetadataStore

__all__ = [
    "AUDIT_KEY_ENV",
    "GENESIS_INFO",
    "KEY_ID_INFO",
    "ZERO_MAC",
    "AuditKey",
    "ChainProblem",
    "ChainReport",
    "Checkpoint",
    "append_link",
    "bind_chain",
    "canonical_record",
    "chain_key",
    "export_jsonl",
    "genesis_of",
    "head_of",
    "load_audit_key",
    "open_chain",
    "verify_chain",
]

ZERO_MAC = "0" * 64
GENESIS_INFO = "audit_chain_genesis"
KEY_ID_INFO = "audit_key_id"
AUDIT_KEY_ENV = "FALAJ_AUDIT_KEY"
AUDIT_KEY_FILE = "audit.key"
#: the fields the MAC covers, in the order an auditor reads them
CHAINED_FIELDS = (
    "seq",
    "event_id",
    "occurred_at",
    "principal",
    "principal_kind",
    "action",
    "resource_type",
    "resource_id",
    "outcome",
    "request_id",
    "region",
    "source",
    "details",
)
_MIN_ENV_KEY = 32


@dataclass(frozen=True)
class AuditKey:
    """The chain's HMAC key and where it came from (the secret is never shown)."""

    secret: bytes = field(repr=False)
    source: str

    @property
    def key_id(self) -> str:
        """A public fingerprint of the key (safe to record and print)."""
        return "ak-" + hashlib.sha256(b"falaj-audit-key-id\n" + self.secret).hexdigest()[:16]

    def mac(self, prev_mac: str, record: Mapping[str, Any]) -> str:
        message = prev_mac.encode("ascii") + b"\n" + canonical_record(record)
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def sign(self, purpose: str, body: Mapping[str, Any]) -> str:
        message = purpose.encode() + b"\n" + _canonical_json(body)
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()


def load_audit_key(home: Path, environ: Mapping[str, str] | None = None) -> AuditKey:
    """``FALAJ_AUDIT_KEY`` if set, else the workspace's key file (created if missing)."""
    env = os.environ if environ is None else environ
    raw = env.get(AUDIT_KEY_ENV)
    if raw:
        if len(raw) < _MIN_ENV_KEY:
            raise ConfigError(
                f"{AUDIT_KEY_ENV} is {len(raw)} characters long: expected at least "
                f"{_MIN_ENV_KEY} (e.g. the output of `openssl rand -hex 32`)"
            )
        return AuditKey(raw.encode("utf-8"), AUDIT_KEY_ENV)
    path = home / KEYS_DIR / AUDIT_KEY_FILE
    return AuditKey(read_or_create_key_file(path), str(path))


# The key travels with the engine the workspace opened: every write path (services, the
# tracking writer, the workspace itself) appends through ``record_event(conn, ...)``.
_CHAINS: WeakKeyDictionary[Engine, AuditKey] = WeakKeyDictionary()


def bind_chain(engine: Engine, key: AuditKey) -> None:
    """Chain every audit event written through ``engine`` with ``key``."""
    _CHAINS[engine] = key


def chain_key(engine: Engine) -> AuditKey:
    key = _CHAINS.get(engine)
    if key is None:
        raise ConfigError(
            "the audit chain key is not loaded for this database: open it through "
            "Workspace.open/init (or call falaj.governance.ledger.bind_chain)"
        )
    return key


def open_chain(
    store: MetadataStore, home: Path, environ: Mapping[str, str] | None = None
) -> AuditKey:
    """Load the workspace's audit key, check it is the one that chained this ledger (recording
    its id on first use), and bind it to the store's engine."""
    key = load_audit_key(home, environ)
    recorded = store.get_info(KEY_ID_INFO)
    if recorded is None:
        with store.transaction() as conn:
            recorded = store.get_info(KEY_ID_INFO, conn)
            if recorded is None:
                store.set_info(conn, KEY_ID_INFO, key.key_id)
                recorded = key.key_id
    if recorded != key.key_id:
        raise ConfigError(
            f"the audit key from {key.source} ({key.key_id}) is not the key that chained this "
            f"ledger ({recorded}): set {AUDIT_KEY_ENV} or restore that key file"
        )
    bind_chain(store.engine, key)
    return key


def _timestamp(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


def _canonical_json(body: Mapping[str, Any]) -> bytes:
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def canonical_record(record: Mapping[str, Any]) -> bytes:
    """The bytes the MAC covers: the chained fields as sorted, compact JSON."""
    body = {name: record.get(name) for name in CHAINED_FIELDS}
    body["occurred_at"] = _timestamp(body["occurred_at"])
    return _canonical_json(body)


#: the chain head: plain SQL, sent as is (no statement to build or compile on the hot path)
_HEAD_SQL = "SELECT seq, mac FROM audit_events ORDER BY seq DESC LIMIT 1"


def head_of(conn: Connection) -> tuple[int, str | None]:
    """The last record's ``seq`` and ``mac`` (``(0, None)`` for an empty ledger)."""
    row = conn.exec_driver_sql(_HEAD_SQL).first()
    return (0, None) if row is None else (int(row[0]), row[1])


def append_link(conn: Connection, values: dict[str, Any]) -> None:
    """Give ``values`` (one audit row) its ``seq``, ``prev_mac`` and ``mac``, and insert it,
    under the chain lock of the caller's transaction."""
    key = chain_key(conn.engine)
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_CHAIN_LOCK)
    seq, prev = head_of(conn)
    values["seq"] = seq + 1
    values["prev_mac"] = prev or ZERO_MAC
    values["mac"] = key.mac(values["prev_mac"], values)
    conn.execute(_INSERT, values)


_PG_CHAIN_LOCK = sa.text(
    "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.falaj_audit_chain'))"
)
_INSERT = sa.insert(audit_events)


# -- verification ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Checkpoint:
    """The chain head at one moment, MAC-signed, to keep outside the database."""

    workspace_id: str
    seq: int
    mac: str
    key_id: str
    created_at: str
    signature: str = ""

    _PURPOSE = "falaj-audit-checkpoint/1"

    def body(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("signature")
        return out

    def signed(self, key: AuditKey) -> Checkpoint:
        return Checkpoint(**self.body(), signature=key.sign(self._PURPOSE, self.body()))

    def signature_valid(self, key: AuditKey) -> bool:
        return hmac.compare_digest(self.signature, key.sign(self._PURPOSE, self.body()))

    def to_json(self) -> str:
        return json.dumps({"format": self._PURPOSE, **asdict(self)}, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, source: str = "checkpoint") -> Checkpoint:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{source} is not JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != cls._PURPOSE:
            raise InvalidInputError(
                f"{source} is not an audit checkpoint: expected format {cls._PURPOSE!r}"
            )
        try:
            return cls(
                workspace_id=str(data["workspace_id"]),
                seq=int(data["seq"]),
                mac=str(data["mac"]),
                key_id=str(data["key_id"]),
                created_at=str(data["created_at"]),
                signature=str(data["signature"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"{source} lacks a valid field: {exc}") from None


@dataclass(frozen=True)
class ChainProblem:
    """One bad record: its ``seq`` and what is wrong with it."""

    seq: int
    problem: str


@dataclass(frozen=True)
class ChainReport:
    genesis_seq: int
    checked: int
    head_seq: int
    head_mac: str | None
    key_id: str
    problems: list[ChainProblem]
    checkpoints_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> ChainProblem | None:
        return self.problems[0] if self.problems else None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        return out


def genesis_of(store: MetadataStore, conn: Connection) -> int:
    """The last ``seq`` written before the chain started (0 for a workspace born chained)."""
    value = store.get_info(GENESIS_INFO, conn)
    if value is None:
        raise ConfigError("this ledger has no recorded genesis: run `falaj db upgrade`")
    return int(value)


def _rows(conn: Connection, after: int) -> Iterator[Any]:
    query = (
        sa.select(audit_events)
        .where(audit_events.c.seq > after)
        .order_by(audit_events.c.seq)
        .execution_options(yield_per=2000)
    )
    yield from conn.execute(query)


def verify_chain(
    conn: Connection,
    key: AuditKey,
    *,
    genesis: int,
    checkpoints: list[Checkpoint] | None = None,
    max_problems: int = 20,
) -> ChainReport:
    """Walk the chain from its genesis; report the first ``max_problems`` bad records.

    After a bad record the walk re-synchronizes on it, so each later problem is its own.
    ``checkpoints`` (exported earlier, or stored) must each still match the record at their
    ``seq``: a checkpoint beyond the head means the tail was cut off.
    """
    problems: list[ChainProblem] = []
    expected_seq = genesis + 1
    expected_prev = ZERO_MAC
    checked = 0
    head_seq, head_mac = genesis, None
    wanted = {cp.seq: cp for cp in checkpoints or []}
    seen_checkpoints: set[int] = set()

    def bad(seq: int, problem: str) -> None:
        if len(problems) < max_problems:
            problems.append(ChainProblem(seq, problem))

    # nothing may sit before the chain that the chain would not see: a chained record at or
    # before the genesis, or any record at a position <= 0, was put there by hand
    before = conn.execute(
        sa.select(audit_events.c.seq)
        .where(
            audit_events.c.seq <= genesis,
            sa.or_(audit_events.c.mac.is_not(None), audit_events.c.seq <= 0),
        )
        .order_by(audit_events.c.seq)
    )
    for (seq,) in before:
        bad(int(seq), "it sits before the chain's genesis, where no record may be added: inserted")
    for row in _rows(conn, genesis):
        record = row._mapping
        seq = int(record["seq"])
        checked += 1
        if seq != expected_seq:
            missing = (
                f"seq {expected_seq}"
                if seq == expected_seq + 1
                else f"seq {expected_seq}-{seq - 1}"
            )
            bad(seq, f"the record(s) before it are missing ({missing}): deleted")
        elif record["mac"] is None:
            bad(seq, "it carries no MAC: inserted by someone without the chain key")
        elif not hmac.compare_digest(record["mac"], key.mac(record["prev_mac"] or "", record)):
            bad(seq, "its content does not match its MAC: edited (or inserted without the key)")
        elif record["prev_mac"] != expected_prev:
            bad(
                seq,
                "it does not link to the record before it: a record was deleted, inserted "
                "or reordered",
            )
        if seq in wanted:
            seen_checkpoints.add(seq)
            if record["mac"] != wanted[seq].mac:
                bad(seq, "it differs from the exported checkpoint at this seq: rewritten")
        expected_seq = seq + 1
        expected_prev = record["mac"] or ZERO_MAC
        head_seq, head_mac = seq, record["mac"]
    for cp in sorted(wanted.values(), key=lambda c: c.seq):
        if cp.seq in seen_checkpoints:
            continue
        if cp.seq > head_seq:
            bad(
                cp.seq,
                f"the chain ends at seq {head_seq} but a checkpoint records seq {cp.seq}: "
                f"records {head_seq + 1}-{cp.seq} were removed (tail truncated)",
            )
        elif cp.seq > genesis:
            bad(cp.seq, "the record a checkpoint names is missing: deleted")
    problems.sort(key=lambda p: p.seq)
    return ChainReport(
        genesis_seq=genesis,
        checked=checked,
        head_seq=head_seq,
        head_mac=head_mac,
        key_id=key.key_id,
        problems=problems,
        checkpoints_checked=len(wanted),
    )


def export_jsonl(conn: Connection, out: TextIO, *, since_seq: int = 0) -> int:
    """Write every record after ``since_seq`` as one JSON line (for a SIEM); returns the count.

    Each line carries ``seq``, ``prev_mac`` and ``mac``, so the receiver can check the links.
    """
    count = 0
    for row in _rows(conn, since_seq):
        record = dict(row._mapping)
        record["occurred_at"] = _timestamp(record["occurred_at"])
        out.write(json.dumps(record, sort_keys=True, ensure_ascii=False, default=str))
        out.write("\n")
        count += 1
    return count
