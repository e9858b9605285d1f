"""Keep secrets out of messages: redact credentials and secret-looking query values before quoting a URL."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["SECRET_NAME", "is_secret_name", "redact_secrets", "redact_url"]

#: option or query-parameter names whose values are secrets (api_key, x-api-key, token, password, ...)
SECRET_NAME = re.compile(r"(?i)(api[_-]?key|apikey|token|secret|passw(or)?d|auth|credential|signature|sig)")
# Regexes, not urlsplit: a URL too malformed to parse must still be quoted without its secrets.
_USERINFO = re.compile(r"(?i)^([a-z][a-z0-9+.-]*://)[^/?#@]*@")
_QUERY_ITEM = re.compile(r"([?&;])([^=&;#]*)=([^&;#]*)")


def is_secret_name(name: str) -> bool:
    """True when an option or parameter called ``name`` holds a secret (its value is never echoed)."""
    return bool(SECRET_NAME.search(name))


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` and the values of secret-looking query parameters replaced by ``***``."""
    text = _USERINFO.sub(r"\1***@", str(url))

    def hide(match: re.Match[str]) -> str:
        sep, name, value = match.groups()
        return f"{sep}{name}=***" if is_secret_name(name) and value else match.group(0)

    return _QUERY_ITEM.sub(hide, text)


def redact_secrets(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every occurrence of each known secret (and its stripped form) replaced by ``***``."""
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, secret.strip()}:
            if len(form) >= 4:  # shorter strings would blank out ordinary words
                text = text.replace(form, "***")
    return text
