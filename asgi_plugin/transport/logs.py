"""Keep secrets out of server logs: tokens in URLs and `Authorization` headers.

Browsers cannot set headers on a WebSocket, so some clients put their token in
the URL (`/ws?token=…`); ASGI servers log that URL (uvicorn: `"WebSocket
/ws?token=…" [accepted]`, at INFO, even with the access log off). Prefer the
`auth` first message or a token carried in `Sec-WebSocket-Protocol`; where a
URL token cannot be avoided, redact it:

    import logging
    from flowwire import redact_server_logs
    redact_server_logs()        # after the server configured logging

`flowwire demo` does this itself.
"""

from __future__ import annotations

import logging
import re

__all__ = ["SECRET_PARAMS", "RedactSecrets", "redact", "redact_server_logs"]

SECRET_PARAMS = (
    "token",
    "access_token",
    "id_token",
    "api_key",
    "apikey",
    "key",
    "jwt",
    "auth",
    "password",
    "secret",
)
_NAMES = "|".join(SECRET_PARAMS)
_QUERY = re.compile(rf"([?&;](?:{_NAMES})=)[^&\s\"'#;]+", re.IGNORECASE)
_BEARER = re.compile(r"(\b(?:Bearer|Basic|Token)\s+)[A-Za-z0-9._~+/=-]{4,}", re.IGNORECASE)
SERVER_LOGGERS = (
    "",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "hypercorn.error",
    "hypercorn.access",
    "flowwire",
)


def redact(text: str) -> str:
    """`/ws?token=abc&x=1` → `/ws?token=***&x=1`; `Bearer abc` → `Bearer ***`."""
    return _BEARER.sub(r"\1***", _QUERY.sub(r"\1***", text))


class RedactSecrets(logging.Filter):
    """A logging filter that redacts tokens from every record it sees (put it on handlers:
    a logger's own filters do not see what its children log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def redact_server_logs() -> RedactSecrets:
    """Add one `RedactSecrets` to every handler of the root logger and of the ASGI servers'
    and flowwire's loggers, as configured now; return it."""
    secrets = RedactSecrets()
    for name in SERVER_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(secrets)
    return secrets
