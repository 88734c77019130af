"""Find credentials written in plain text into component files.

daprd accepts ``redisPassword: {value: hunter2}`` without a word, and such a file ends up in git.
This check is the one a reviewer would do: a metadata item whose name says it is a credential
(password, token, key, secret, cert) with a literal ``value`` instead of a ``secretKeyRef``.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

CREDENTIAL = re.compile(r"password|token|secret|apikey|api_key|accesskey|clientkey|clientcert|connectionstring", re.I)


def plaintext_credentials(folder: Path) -> list[dict[str, str]]:
    """One row per credential-like metadata item that holds a literal value."""
    found = []
    for file in sorted(Path(folder).glob("*.y*ml")):
        for doc in yaml.safe_load_all(file.read_text()):
            if not isinstance(doc, dict) or doc.get("kind") != "Component":
                continue
            for item in (doc.get("spec") or {}).get("metadata") or []:
                name = str(item.get("name", ""))
                if CREDENTIAL.search(name) and "value" in item and str(item["value"]).strip():
                    found.append({"file": file.name, "component": doc["metadata"]["name"], "field": name,
                                  "problem": "literal value: use secretKeyRef + auth.secretStore"})
    return found
