"""The Workspace: one metadata store, one artifact store and one principal, composed
(:mod:`falaj.workspace.core`), with the adapters it wires between areas and the acting-as view."""

from falaj.workspace.core import Workspace

__all__ = ["Workspace"]
