"""The remote client: ``falaj.connect(url, token=...)`` (or ``Workspace.connect``) gives a
workspace served by ``falaj server`` with the embedded workspace's Python API for tracking,
registry, artifacts and datasets."""

from falaj.client.http import error_from
from falaj.client.tracking import RemoteRun, RemoteTracking
from falaj.client.workspace import NotSupportedRemotelyError, RemoteWorkspace, connect

__all__ = [
    "NotSupportedRemotelyError",
    "RemoteRun",
    "RemoteTracking",
    "RemoteWorkspace",
    "connect",
    "error_from",
]
