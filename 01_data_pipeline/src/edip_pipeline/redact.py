"""Credentials out of URLs before they reach a log line or an error message.

Why one place: URLs carry secrets in three spots — the password of a database URL
(``postgresql://user:pw@host/db``), query parameters (``?api_key=…``, ``&token=…``) and, for
incoming webhooks (Slack, Teams), the path itself (``/services/T0/B0/<token>``). The API's access
log, its database messages and the loop's alert errors all go through these two functions.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MASK = "***"
#: query parameter names that carry a credential (matched anywhere in the name, any case)
_SECRET_NAME = (
    r"[^=&;#]*(?:key|token|secret|passw(?:or)?d|pwd|auth|signature|sig|credential|session)[^=&;#]*"
)
_SECRET_PARAM = re.compile(rf"(?i)(^|[?&;])({_SECRET_NAME}=)[^&;#]*")


def redact_query(text: str) -> str:
    """``text`` (a query string, or a path with one) with every credential parameter's value
    masked; everything else is left byte for byte as it was."""
    return _SECRET_PARAM.sub(rf"\1\2{MASK}", text)


def redact_url(url: str, *, keep_path: bool = True) -> str:
    """``url`` without its password, its fragment and its credential query values.

    ``keep_path=False`` keeps only the scheme, host and port: a webhook URL's path is its token.
    """
    try:
        parts = urlsplit(url)
        _ = parts.port  # a malformed port raises here
    except ValueError:
        return "<unparsable URL>"
    host = parts.netloc.rpartition("@")[2]  # brackets of an IPv6 address and the port kept
    if not keep_path:
        return f"{parts.scheme}://{host}/{MASK}" if parts.path or parts.query else url
    text = url.split("#", 1)[0]
    if parts.password is not None:
        at = text.index(parts.netloc)
        text = f"{text[:at]}{parts.username}:{MASK}@{host}{text[at + len(parts.netloc) :]}"
    return redact_query(text)
