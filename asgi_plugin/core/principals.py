"""Who a principal is, once for every feature that needs it: authorization, limits, delivery.

A principal is whatever the app's authenticate hooks return. flowwire reads
two things from it:

- its id: `principal_id` when the principal has that attribute or key, else
  `id` or `sub` (a JWT's subject), else the principal itself if it is a str;
  None for an anonymous principal;
- whether it is an admin: an `is_admin` attribute, or an `admin` key, that is true.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["expires_at", "is_admin", "principal_id"]

_ID_KEYS = ("principal_id", "id", "sub")


def principal_id(principal: Any) -> str | None:
    """The principal's id (see the module docstring), or None when it has none."""
    if principal is None:
        return None
    if isinstance(principal, str):
        return principal
    for key in _ID_KEYS:
        value = (
            principal.get(key) if isinstance(principal, Mapping) else getattr(principal, key, None)
        )
        if value is not None and not callable(value):
            return str(value)
    return None


def is_admin(principal: Any) -> bool:
    """Whether the principal may act on everyone's executions."""
    if isinstance(principal, Mapping):
        return bool(principal.get("admin") or principal.get("is_admin"))
    return bool(getattr(principal, "is_admin", False) or getattr(principal, "admin", False))


def expires_at(principal: Any) -> float | None:
    """When the principal's credentials expire (seconds since the epoch): an `expires_at`
    attribute or key, or a JWT's `exp`; None when they do not."""
    if isinstance(principal, Mapping):
        value = principal.get("expires_at", principal.get("exp"))
    else:
        value = getattr(principal, "expires_at", None)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None
