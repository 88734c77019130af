"""HTTP routes of the workflow building block (placeholder: filled by its issue)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
