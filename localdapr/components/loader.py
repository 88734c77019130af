"""Read Component manifests from ``--resources-path`` folders (spec A1-A3).

Files: ``*.yaml``/``*.yml`` directly in each folder (not recursive); several documents per file;
documents of other kinds are ignored (Subscriptions, Configuration share the folder). A file that
is not valid YAML, or a Component without name or type, stops the sidecar with a message naming
the file — losing a component silently would lose the user's data path.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable

import yaml

from localdapr.components.model import ComponentSpec, MetadataItem
from localdapr.errors import ComponentError

log = logging.getLogger("localdapr.runtime")

API_VERSION = "dapr.io/v1alpha1"
_INVALID_NAME = re.compile(r"[/%]")


def scalar(value: object) -> str:
    """YAML scalar -> the string a component sees (spec A1.2): 6379 and "6379" are the same."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def iter_manifest_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for folder in paths:
        if not folder.is_dir():
            raise ComponentError(f"resources path {folder} does not exist or is not a folder")
        for entry in sorted(folder.iterdir()):
            if entry.is_file() and entry.suffix in (".yaml", ".yml"):
                files.append(entry)
            elif entry.is_file():
                log.warning("skipping %s: not a .yaml/.yml file", entry)
    return files


def load_documents(paths: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    docs: list[tuple[Path, dict[str, Any]]] = []
    for file in iter_manifest_files(paths):
        try:
            loaded = list(yaml.safe_load_all(file.read_text()))
        except yaml.YAMLError as exc:
            raise ComponentError(f"file {file}: invalid YAML: {exc}") from exc
        docs.extend((file, doc) for doc in loaded if isinstance(doc, dict))
    return docs


def _items(file: Path, name: str, raw: Any) -> list[MetadataItem]:
    items = []
    for i, entry in enumerate(raw or []):
        if not isinstance(entry, dict) or not entry.get("name"):
            raise ComponentError(f"file {file}: component '{name}': spec.metadata[{i}] needs a 'name'")
        ref = entry.get("secretKeyRef")
        if ref is not None:
            if not isinstance(ref, dict) or not ref.get("name"):
                raise ComponentError(f"file {file}: component '{name}': metadata '{entry['name']}': secretKeyRef needs a 'name'")
            items.append(MetadataItem(str(entry["name"]), secret_name=str(ref["name"]), secret_key=str(ref.get("key") or "")))
        elif "value" in entry:
            items.append(MetadataItem(str(entry["name"]), value=scalar(entry["value"])))
        elif entry.get("envRef"):
            items.append(MetadataItem(str(entry["name"]), env_ref=str(entry["envRef"])))
        else:
            items.append(MetadataItem(str(entry["name"]), value=""))
    return items


def load_components(paths: list[Path], app_id: str) -> list[tuple[ComponentSpec, list[MetadataItem]]]:
    """In-scope Components in file order, with their unresolved metadata items."""
    namespace = os.environ.get("NAMESPACE", "")
    seen: dict[str, Path] = {}
    out: list[tuple[ComponentSpec, list[MetadataItem]]] = []
    for file, doc in load_documents(paths):
        if doc.get("apiVersion") != API_VERSION or doc.get("kind") != "Component":
            continue
        meta = doc.get("metadata") or {}
        spec = doc.get("spec") or {}
        name = scalar(meta.get("name"))
        if not name or _INVALID_NAME.search(name) or name in (".", ".."):
            log.warning("file %s: skipping a Component with invalid metadata.name %r", file, name)
            continue
        if namespace and meta.get("namespace") and meta.get("namespace") != namespace:
            continue
        if name in seen:  # checked before this manifest's scopes (spec A2.4)
            raise ComponentError(f"file {file}: duplicate definition of Component name {name} (first defined in {seen[name]})")
        scopes = [str(s) for s in (doc.get("scopes") or [])]
        if scopes and app_id not in scopes:
            log.info("component '%s' in %s is not in scope for app '%s' (scopes: %s)", name, file, app_id, scopes)
            continue
        seen[name] = file
        if not spec.get("type"):
            raise ComponentError(f"file {file}: component '{name}': spec.type is required")
        timeout = _go_duration(scalar(spec.get("initTimeout")), 5.0, file, name)
        auth = doc.get("auth") or {}
        component = ComponentSpec(
            name=name,
            type=str(spec["type"]),
            version=scalar(spec.get("version", "v1")) or "v1",
            scopes=scopes,
            ignore_errors=str(spec.get("ignoreErrors", "false")).lower() == "true",
            init_timeout_seconds=timeout,
            auth_secret_store=auth.get("secretStore") or None,
            source=file,
        )
        out.append((component, _items(file, name, spec.get("metadata"))))
    return out


def _go_duration(text: str, default: float, file: Path, name: str) -> float:
    if not text:
        return default
    total = 0.0
    for number, unit in re.findall(r"([\d.]+)(ms|s|m|h)", text):
        total += float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    if total <= 0:
        raise ComponentError(f"file {file}: component '{name}': invalid initTimeout '{text}'")
    return total


def _template(value: str, app_id: str) -> str:
    """``{uuid}``, ``{appID}``, ``{namespace}``, ``{podName}`` (spec A1.3)."""
    if "{podName}" in value:
        raise ComponentError("'{podName}' is not available in self-hosted mode")
    namespace = os.environ.get("NAMESPACE") or "default"
    value = value.replace("{appID}", app_id).replace("{namespace}", f"{namespace}.{app_id}")
    while "{uuid}" in value:
        value = value.replace("{uuid}", str(uuid.uuid4()), 1)
    return value


def _env_allowed(name: str) -> bool:
    return not (name.startswith("DAPR_") or name == "APP_API_TOKEN" or " " in name)


async def resolve_metadata(
    spec: ComponentSpec,
    items: list[MetadataItem],
    app_id: str,
    get_secret: Callable[[str, str], Awaitable[dict[str, str] | None]],
) -> dict[str, str]:
    """Literal values templated; secretKeyRef through ``auth.secretStore``; envRef from env (A3)."""
    out: dict[str, str] = {}
    for item in items:
        if item.secret_name is not None:
            if not spec.auth_secret_store:
                raise ComponentError(
                    f"{spec.where()}: metadata '{item.name}' uses secretKeyRef but the component has no auth.secretStore "
                    "(self-hosted Dapr has no default secret store)"
                )
            data = await get_secret(spec.auth_secret_store, item.secret_name)
            if data is None:
                raise ComponentError(f"{spec.where()}: secret store '{spec.auth_secret_store}' (auth.secretStore) is not loaded")
            value = data.get(item.secret_key or item.secret_name, "")
            if value:
                out[item.name] = value
            else:
                log.warning("%s: secret '%s' gave no value for metadata '%s'", spec.where(), item.secret_name, item.name)
        elif item.env_ref is not None:
            out[item.name] = os.environ.get(item.env_ref, "") if _env_allowed(item.env_ref) else ""
        else:
            try:
                out[item.name] = _template(item.value or "", app_id)
            except ComponentError as exc:
                raise ComponentError(f"{spec.where()}: metadata '{item.name}': {exc}") from None
    return out
