"""Self-contained reports (HTML with inline SVG charts, no CDN) and their JSON twins."""

from __future__ import annotations

__all__: list[str] = []
