"""Online stores: the latest feature values per entity, read by primary key.

:class:`~falaj.features.online.base.OnlineStore` is the Protocol; SQLite (embedded default, a file
in the workspace) and Redis (selected by ``Settings.redis_url``) implement it and pass one
contract suite (``tests/contract/test_online_store.py``).
"""

from falaj.features.online.base import OnlineStore, open_online_store

__all__ = ["OnlineStore", "open_online_store"]
