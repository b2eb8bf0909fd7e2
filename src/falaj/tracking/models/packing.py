"""A model artifact is one zip archive: ``falaj-model.json`` (the manifest) plus the model files.

The manifest records the format version, the flavor, the signature, the library versions it was
saved with, whether it was marked trusted, and the flavor's own metadata. Archives are written
with fixed entry times and order, so a model whose native format is deterministic (LightGBM,
XGBoost, ONNX) gives the same bytes every time and the artifact store keeps it once (skops files
embed object ids, so scikit-learn archives differ between saves).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from falaj.errors import ExecutionError, FalajError, IntegrityError, InvalidInputError, preview
from falaj.tracking.models.flavors import detect_flavor, get_flavor, versions
from falaj.tracking.models.loaded import LoadedModel
from falaj.tracking.models.signature import infer_signature
from falaj.tracking.models.ziplimits import check_archive, read_member

__all__ = ["FORMAT", "MANIFEST", "PackedModel", "pack_model", "read_manifest", "unpack_model"]

FORMAT = "falaj-model/1"
MANIFEST = "falaj-model.json"
_MAX_MANIFEST = 16 * 1024**2
_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class PackedModel:
    data: bytes
    flavor: str
    signature: dict[str, Any] | None
    trusted: bool


def pack_model(
    model: Any,
    *,
    flavor: str | None = None,
    input_example: Any = None,
    trusted: bool = False,
) -> PackedModel:
    """Serialize ``model`` into one archive (flavor detected unless given)."""
    _check_trusted(trusted)
    if model is None:
        raise InvalidInputError("model is None: expected a trained model")
    impl = get_flavor(flavor) if flavor is not None else detect_flavor(model)
    if flavor is not None and not impl.matches(model):
        raise InvalidInputError(f"flavor {flavor!r} does not fit a {type(model).__name__} model")
    saved = impl.save(model, trusted=trusted)
    signature = None
    if input_example is not None:
        import pandas as pd

        if not isinstance(input_example, pd.DataFrame):
            raise InvalidInputError(
                f"input_example must be a pandas DataFrame, got {type(input_example).__name__}"
            )
        prediction = None
        if len(input_example):
            # Predict with the model as it will be loaded: proves the archive round-trips.
            reloaded = impl.load(saved.files, saved.meta, trusted=True)
            try:
                prediction = impl.predict(reloaded, input_example, saved.meta)
            except Exception as exc:
                raise ExecutionError(
                    f"the {impl.name} model failed to predict on input_example: {exc}"
                ) from exc
        signature = infer_signature(input_example, prediction)
    manifest = {
        "format": FORMAT,
        "flavor": impl.name,
        "signature": signature,
        "trusted": bool(
            trusted and (impl.needs_trust or bool(saved.meta.get("extra_trusted_types")))
        ),
        "libraries": versions(impl.libraries()),
        "flavor_meta": saved.meta,
        "files": sorted(saved.files),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _write(archive, MANIFEST, json.dumps(manifest, sort_keys=True, indent=2).encode("utf-8"))
        for name in sorted(saved.files):
            _write(archive, name, saved.files[name])
    return PackedModel(buffer.getvalue(), impl.name, signature, bool(manifest["trusted"]))


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def read_manifest(data: bytes) -> dict[str, Any]:
    """The manifest of a model archive (checked), without loading the model."""
    manifest, _ = _open(data, read_files=False)
    return manifest


def _open(data: bytes, *, read_files: bool) -> tuple[dict[str, Any], dict[str, bytes]]:
    if not isinstance(data, bytes | bytearray):
        raise InvalidInputError(f"model data must be bytes, got {type(data).__name__}")
    what = "model archive"
    try:
        archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise IntegrityError("not a Falaj model archive (not a zip file)") from exc
    with archive:
        check_archive(archive, what=what)
        try:
            info = archive.getinfo(MANIFEST)
        except KeyError:
            raise IntegrityError(f"not a Falaj model archive: {MANIFEST} is missing") from None
        if info.file_size > _MAX_MANIFEST:
            raise IntegrityError(f"{MANIFEST} declares {info.file_size:,} bytes; refused unread")
        try:
            manifest = json.loads(read_member(archive, info, what=what))
        except ValueError as exc:
            raise IntegrityError(f"{MANIFEST} is not valid JSON: {exc}") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise IntegrityError(
                f"unsupported model archive format {preview(manifest.get('format'))}: "
                f"expected {FORMAT}"
                if isinstance(manifest, dict)
                else f"{MANIFEST} is not an object"
            )
        names = manifest.get("files", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise IntegrityError(f"{MANIFEST}: 'files' must be a list of names")
        files: dict[str, bytes] = {}
        if read_files:
            for name in names:
                try:
                    member = archive.getinfo(name)
                except KeyError:
                    raise IntegrityError(
                        f"model archive lacks the file {preview(name)} its manifest lists"
                    ) from None
                files[name] = read_member(archive, member, what=what)
    return manifest, files


def unpack_model(data: bytes, *, trusted: bool = False) -> LoadedModel:
    """Load a model archive; a format that needs pickle requires ``trusted=True``."""
    _check_trusted(trusted)
    manifest, files = _open(data, read_files=True)
    impl = get_flavor(str(manifest.get("flavor")))
    meta = dict(manifest.get("flavor_meta") or {})
    try:
        raw = impl.load(files, meta, trusted=trusted)
    except FalajError:
        raise
    except Exception as exc:  # the flavor's library on bytes that are not what they claim
        raise IntegrityError(
            f"the {impl.name} model in this archive cannot be loaded: {type(exc).__name__}: "
            f"{preview(str(exc), 200)}"
        ) from exc
    return LoadedModel(
        flavor=impl.name,
        signature=manifest.get("signature"),
        raw=raw,
        trusted=bool(manifest.get("trusted")),
        manifest=manifest,
        impl=impl,
    )


def _check_trusted(trusted: object) -> None:
    """Only a real ``True`` lets pickle run: ``trusted="no"`` must not count as consent."""
    if not isinstance(trusted, bool):
        raise InvalidInputError(f"trusted {trusted!r} is invalid: expected True or False")
