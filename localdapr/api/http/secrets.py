"""HTTP routes of the secrets building block (placeholder: filled by its issue)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
