"""Read Component manifests from ``--resources-path`` folders (spec A2).

MINIMAL VERSION: multi-document YAML, non-recursive, scopes, literal values.
Issue 3 completes it: secretKeyRef/envRef, templating, validation, duplicates, namespace.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from localdapr.components.model import ComponentSpec, MetadataItem
from localdapr.errors import ComponentError


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def iter_manifest_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for folder in paths:
        if not folder.is_dir():
            raise ComponentError(f"resources path {folder} does not exist or is not a folder")
        files.extend(sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml")))
    return files


def load_documents(paths: list[Path]) -> list[tuple[Path, dict]]:
    docs: list[tuple[Path, dict]] = []
    for file in iter_manifest_files(paths):
        try:
            for doc in yaml.safe_load_all(file.read_text()):
                if isinstance(doc, dict):
                    docs.append((file, doc))
        except yaml.YAMLError as exc:
            raise ComponentError(f"file {file}: invalid YAML: {exc}") from exc
    return docs


def load_components(paths: list[Path], app_id: str) -> list[tuple[ComponentSpec, list[MetadataItem]]]:
    out: list[tuple[ComponentSpec, list[MetadataItem]]] = []
    for file, doc in load_documents(paths):
        if doc.get("apiVersion") != "dapr.io/v1alpha1" or doc.get("kind") != "Component":
            continue
        meta = doc.get("metadata") or {}
        spec = doc.get("spec") or {}
        scopes = [str(s) for s in (doc.get("scopes") or [])]
        if scopes and app_id not in scopes:
            continue
        items = [
            MetadataItem(name=str(m.get("name")), value=_scalar(m.get("value")))
            for m in (spec.get("metadata") or [])
        ]
        component = ComponentSpec(
            name=str(meta.get("name", "")),
            type=str(spec.get("type", "")),
            version=_scalar(spec.get("version", "v1")),
            scopes=scopes,
            ignore_errors=bool(spec.get("ignoreErrors", False)),
            source=file,
        )
        out.append((component, items))
    return out
