"""Feature store: definitions, point-in-time training data, online store, materialization.

Reached as ``ws.features`` (:class:`~falaj.features.service.FeatureStoreService`)::

    from falaj.features import Entity, FeatureView
    ws.features.apply([Entity("customer", join_keys=["customer_id"]),
                       FeatureView("cust_stats", entities=["customer"], source="cust_events",
                                   timestamp="event_ts", features={"balance": "float64"},
                                   ttl="7d")])
    ws.features.get_historical(entity_df, features=["cust_stats:balance"])
    ws.features.materialize(end=datetime.now(UTC))
    ws.features.get_online({"customer_id": [1, 2]}, features=["cust_stats:balance"])

Heavy libraries (duckdb, pandas, pyarrow, redis) are imported by the functions that use them.
"""

from falaj.features.catalog import Registered
from falaj.features.definitions import Entity, FeatureService, FeatureView
from falaj.features.errors import FeatureDefinitionError, FeatureNotFoundError
from falaj.features.lookup import FeatureLookup
from falaj.features.online.base import OnlineStore
from falaj.features.yaml_defs import definitions_from_yaml, load_definitions

__all__ = [
    "Entity",
    "FeatureDefinitionError",
    "FeatureLookup",
    "FeatureNotFoundError",
    "FeatureService",
    "FeatureView",
    "OnlineStore",
    "Registered",
    "definitions_from_yaml",
    "load_definitions",
]
