"""The one JSON error shape: {"error": {"code", "message", "fields"}} (docs/CONTRACTS.md)."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse


def error_body(code: object, message: object, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": str(code), "message": str(message), "fields": fields or {}}}


def error_response(code: str, message: str, status: int, fields: dict[str, list[str]] | None = None) -> JsonResponse:
    """The envelope as a plain Django response, for code outside DRF (middleware, error handlers)."""
    return JsonResponse(error_body(code, message, fields), status=status)
