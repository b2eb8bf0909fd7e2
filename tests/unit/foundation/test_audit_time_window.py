"""``ws.audit.list(since=..., until=...)`` bounds events by when they occurred (inclusive)."""

from __future__ import annotations

from falaj.workspace import Workspace


def test_since_and_until_bound_the_events_by_their_recorded_times(ws: Workspace) -> None:
    for i in range(4):
        ws.artifacts.put_bytes(f"object {i}".encode())
    events = ws.audit.list(action="artifact.put", newest_first=False)
    assert len(events) == 4
    times = [e.occurred_at for e in events]
    window = ws.audit.list(action="artifact.put", since=times[1], until=times[2])
    assert {e.seq for e in window} == {
        e.seq for e in events if times[1] <= e.occurred_at <= times[2]
    }
    assert {events[1].seq, events[2].seq} <= {e.seq for e in window}
    before = ws.audit.list(action="artifact.put", until=times[0])
    assert events[0].seq in {e.seq for e in before}
    assert all(e.occurred_at <= times[0] for e in before)
