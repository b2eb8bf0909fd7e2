"""Models as artifacts: one archive per model (manifest + native files), signature enforced.

Flavors: ``sklearn`` (skops, allow-listed types), ``lightgbm`` (native text), ``xgboost``
(native JSON), ``onnx`` (onnxruntime) and ``pyfunc`` (pickle: needs ``trusted=True``).
This package imports pandas and numpy; it is imported on use, never by ``import falaj``.
"""

from falaj.tracking.models.flavors import FLAVORS, TRUSTED_TYPES
from falaj.tracking.models.loaded import LoadedModel, NoPredictProbaError
from falaj.tracking.models.packing import PackedModel, pack_model, read_manifest, unpack_model
from falaj.tracking.models.signature import enforce_signature, infer_signature

__all__ = [
    "FLAVORS",
    "TRUSTED_TYPES",
    "LoadedModel",
    "NoPredictProbaError",
    "PackedModel",
    "enforce_signature",
    "infer_signature",
    "pack_model",
    "read_manifest",
    "unpack_model",
]
