"""Lineage: an edge table every capability writes to, and graph walks over it."""

from falaj.lineage.graph import Edge, LineageService, Node, record_edge

__all__ = ["Edge", "LineageService", "Node", "record_edge"]
