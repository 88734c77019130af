"""Read Component manifests from ``--resources-path`` folders (spec A1-A3), as daprd's disk loader.

Files: ``*.yaml``/``*.yml`` directly in each folder (not recursive); several documents per file,
split on ``---`` lines like daprd (``pkg/internal/loader/disk``); documents of other kinds are
ignored (Subscriptions, Configuration share the folder). A document that is not valid YAML is
skipped with daprd's warning naming the file, and the rest of the folder loads: daprd does not
stop for it (verified on daprd 1.18.2), so neither do we.
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
disk_log = logging.getLogger("localdapr.runtime.loader.disk")
secret_log = logging.getLogger("localdapr.runtime.processor.secret")

API_VERSION = "dapr.io/v1alpha1"
_DOC_SEPARATOR = re.compile(r"\n---[^\n]*(?:\n|$)")


def scalar(value: object) -> str:
    """YAML scalar -> the string a component sees (spec A1.2): 6379 and "6379" are the same."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class WatcherError(ComponentError):
    """A resources path daprd's hot-reload watcher refuses: fatal before any component loads, and
    not wrapped in ``failed to load components: `` (daprd 1.18.2's text, verified)."""


def iter_manifest_files(paths: list[Path], kind: str = "Component") -> list[Path]:
    files: list[Path] = []
    for folder in paths:
        if not folder.exists():  # daprd's hot-reload watcher refuses a missing folder first
            raise WatcherError(f"failed to create watcher: failed to add target {folder}: no such file or directory", kind=None)
        if not folder.is_dir():
            raise ComponentError(f"resources path {folder} is not a folder", kind=None)
        for entry in sorted(folder.iterdir()):
            if entry.is_file() and entry.suffix.lower() in (".yaml", ".yml"):
                files.append(entry)
            elif entry.is_file():
                disk_log.warning("A non-YAML %s file %s was detected, it will not be loaded", kind, entry.name)
    return files


def _yaml_error(exc: yaml.YAMLError) -> str:
    """sigs.k8s.io/yaml's shape (``error converting YAML to JSON: yaml: line N: ...``); the
    problem itself is PyYAML's wording, libyaml's differs."""
    mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}: " if mark is not None else ""
    return f"error converting YAML to JSON: yaml: {where}{getattr(exc, 'problem', None) or exc}"


# encoding/json's name for a YAML value daprd cannot decode into a resource (sigs.k8s.io/yaml -> JSON).
_GO_JSON_TYPES = ((bool, "bool"), (list, "array"), (str, "string"), (int, "number"), (float, "number"))
_TYPE_META = 'struct { v1.TypeMeta "json:\\",inline\\""; v1.ObjectMeta "json:\\"metadata,omitzero\\"" }'


def _not_a_mapping(doc: object) -> str:
    """daprd's text for a document that is valid YAML but not a mapping (a top-level list, say)."""
    go_type = next((name for py, name in _GO_JSON_TYPES if isinstance(doc, py)), "value")
    return f"error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {go_type} into Go value of type {_TYPE_META}"


def load_documents(paths: list[Path], kind: str = "Component") -> list[tuple[Path, dict[str, Any]]]:
    """Every mapping document of every manifest file, in daprd's order. ``kind`` only names what
    is being loaded in the warning for a broken document, as daprd's does."""
    docs: list[tuple[Path, dict[str, Any]]] = []
    for file in iter_manifest_files(paths, kind):
        errors: list[str] = []
        for chunk in _DOC_SEPARATOR.split(file.read_text()):
            try:
                doc = yaml.safe_load(chunk)
            except yaml.YAMLError as exc:
                errors.append(_yaml_error(exc))
                continue
            if isinstance(doc, dict):
                docs.append((file, doc))
            elif doc is not None:  # a list or a scalar: daprd's JSON decoder refuses it, the folder loads on
                errors.append(_not_a_mapping(doc))
        if errors:
            disk_log.warning("daprd load %s error when parsing manifests yaml resource in %s: %s", kind, file, "\n".join(errors))
    return docs


def _items(raw: Any) -> list[MetadataItem]:
    """``spec.metadata`` entries. Lenient like daprd: an entry without a name, or a secretKeyRef
    without a name, is not an error (daprd keeps it as a plain, usually empty, value)."""
    items = []
    for entry in raw or []:
        if not isinstance(entry, dict) or not entry.get("name"):
            continue
        ref = entry.get("secretKeyRef")
        if isinstance(ref, dict) and ref.get("name"):
            items.append(MetadataItem(str(entry["name"]), secret_name=str(ref["name"]), secret_key=str(ref.get("key") or "")))
        elif "value" in entry:
            items.append(MetadataItem(str(entry["name"]), value=scalar(entry["value"])))
        elif entry.get("envRef"):
            items.append(MetadataItem(str(entry["name"]), env_ref=str(entry["envRef"])))
        else:
            items.append(MetadataItem(str(entry["name"]), value=""))
    return items


def _invalid_name(name: str) -> str:
    """k8s IsValidPathSegmentName, which daprd applies to every manifest name ('' if valid)."""
    if name in (".", ".."):
        return f"may not be '{name}'"
    return "; ".join(f"may not contain '{c}'" for c in "/%" if c in name)


def load_components(paths: list[Path], app_id: str) -> list[tuple[ComponentSpec, list[MetadataItem]]]:
    """In-scope Components in file order, with their unresolved metadata items."""
    namespace = os.environ.get("NAMESPACE", "")
    seen: dict[str, ComponentSpec] = {}
    out: list[tuple[ComponentSpec, list[MetadataItem]]] = []
    for file, doc in load_documents(paths):
        if doc.get("apiVersion") != API_VERSION or doc.get("kind") != "Component":
            continue
        meta = doc.get("metadata") or {}
        spec = doc.get("spec") or {}
        name = scalar(meta.get("name"))
        if _invalid_name(name):
            disk_log.warning('daprd load Component error when parsing manifests yaml resource in %s: invalid name "%s" for "Component": %s', file, name, _invalid_name(name))
            continue
        if namespace and meta.get("namespace") and meta.get("namespace") != namespace:
            continue
        auth = doc.get("auth") or {}
        component = ComponentSpec(
            name=name,
            type=scalar(spec.get("type")),
            version=scalar(spec.get("version")),
            scopes=[str(s) for s in (doc.get("scopes") or [])],
            ignore_errors=str(spec.get("ignoreErrors", "false")).lower() == "true",
            init_timeout_seconds=_go_duration(scalar(spec.get("initTimeout")), 5.0),
            auth_secret_store=auth.get("secretStore") or None,
            source=file,
        )
        if name in seen:  # checked before this manifest's scopes (spec A2.4)
            first = seen[name]
            raise ComponentError(
                f"duplicate definition of Component name {component.log_name()} with existing {first.log_name()}",
                f"defined in {first.source} and again in {file}",
                kind=None,
            )
        if component.scopes and app_id not in component.scopes:
            log.info("component '%s' in %s is not in scope for app '%s' (scopes: %s)", name, file, app_id, component.scopes)
            continue
        if not name:  # daprd skips a nameless Component without a word
            continue
        seen[name] = component
        out.append((component, _items(spec.get("metadata"))))
    return out


def _go_duration(text: str, default: float) -> float:
    """A Go duration ('5s', '1m30s'); like daprd, anything unparsable means the default."""
    parts = re.findall(r"([\d.]+)(ms|s|m|h)", text)
    if not text or "".join(n + u for n, u in parts) != text:
        return default
    total = sum(float(n) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[u] for n, u in parts)
    return total if total > 0 else default


def _template(name: str, value: str, app_id: str) -> str:
    """``{uuid}``, ``{appID}``, ``{namespace}``, ``{podName}`` (spec A1.3), daprd's convertItemsToProps."""
    if "{podName}" in value:  # self-hosted daprd has no pod name
        raise ComponentError(f"failed to parse metadata: property {name} refers to {{podName}} but podName is not set")
    namespace = os.environ.get("NAMESPACE") or "default"
    value = value.replace("{appID}", app_id).replace("{namespace}", f"{namespace}.{app_id}")
    while "{uuid}" in value:
        value = value.replace("{uuid}", str(uuid.uuid4()), 1)
    return value


def _env_allowed(name: str) -> bool:
    upper = name.upper()
    return bool(upper) and not (upper.startswith("DAPR_") or upper == "APP_API_TOKEN" or " " in upper)


class PendingSecretStore(Exception):
    """The component's ``auth.secretStore`` is not loaded: daprd parks the component until that
    store loads, which at start-up means never; it logs a warning and runs on without it."""


async def resolve_references(
    spec: ComponentSpec,
    items: list[MetadataItem],
    get_secret: Callable[[str, str], Awaitable[dict[str, str] | None]],
) -> dict[str, str]:
    """envRef and secretKeyRef values, as daprd's secret processor (``ProcessResource``) does.

    Self-hosted daprd has no default secret store: a secretKeyRef without ``auth.secretStore``
    looks up the store named "", which is never loaded, so daprd warns and goes on *without*
    the secret. It also stops resolving at that item: envRefs listed after it stay empty. Both
    are daprd 1.18.2 behaviour (verified), kept so a component that fails on daprd fails here.
    """
    out: dict[str, str] = {}
    for item in items:
        if item.env_ref is not None:
            if _env_allowed(item.env_ref):
                out[item.name] = os.environ.get(item.env_ref, "")
            else:
                secret_log.warning("Component %s references an env variable that isn't allowed: %s", spec.name, item.env_ref)
                out[item.name] = ""
        elif item.secret_name is not None:
            store = spec.auth_secret_store or ""
            data = await get_secret(store, item.secret_name)
            if data is None:
                secret_log.warning("Component %s references a secret store that isn't loaded: %s", spec.name, store)
                if store:
                    raise PendingSecretStore(store)
                break
            value = data.get(item.secret_key or item.secret_name, "")
            if value:
                out[item.name] = value
        else:
            out[item.name] = item.value or ""
    for item in items:  # literal values, and refs daprd left unresolved, as empty strings
        out.setdefault(item.name, item.value or "")
    return out


def template_metadata(spec: ComponentSpec, values: dict[str, str], app_id: str) -> dict[str, str]:
    """Templating applies to every value, resolved references included (daprd's ToBaseMetadata)."""
    return {name: _template(name, value, app_id) for name, value in values.items()}
