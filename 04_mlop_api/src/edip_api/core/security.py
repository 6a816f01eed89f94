"""Who holds the API key, and what makes a key good enough outside development.

Why here and not in the routes: the key decides more than the write endpoints' 401 — a key holder
may name the request id the log keys on, is not rate-limited and may send the largest bodies; the
middlewares and the dependencies ask the same question through :func:`key_matches`.
"""

from __future__ import annotations

import secrets

from pydantic import SecretStr

#: keys published anywhere in the project (defaults, .env.example, the k8s example Secret, the
#: test suite): never accepted outside development
DEFAULT_API_KEY = "edip-dev-key"
EXAMPLE_API_KEYS = frozenset({DEFAULT_API_KEY, "edip-test-key", "change-me", "REPLACE_ME"})
#: shortest key accepted outside development (``secrets.token_urlsafe(32)`` gives 43)
MIN_API_KEY_LENGTH = 32
#: fewest distinct characters (a token_urlsafe(32) key has about 31 of its 64 symbols)
MIN_DISTINCT_CHARACTERS = 16
MAKE_A_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def key_matches(presented: str | bytes | None, expected: SecretStr) -> bool:
    """Whether ``presented`` is the key (constant-time; any bytes, never an exception)."""
    if not presented:
        return False
    given = presented if isinstance(presented, bytes) else presented.encode("utf-8", "replace")
    return secrets.compare_digest(given, expected.get_secret_value().encode())


def _periodic(key: str) -> bool:
    """``key`` is a short pattern repeated (``abcabcab…``, ``change-mechange-me…``)."""
    return any(key[p:] == key[:-p] for p in range(1, len(key) // 2 + 1))


def weak_key_reason(key: str) -> str | None:
    """Why ``key`` is refused outside development, or None; never quotes the key."""
    if not key.strip() or key.strip() in EXAMPLE_API_KEYS:
        return "empty or a documented example/default"
    if key != key.strip():
        return "it has surrounding spaces"
    if len(key) < MIN_API_KEY_LENGTH:
        return f"shorter than {MIN_API_KEY_LENGTH} characters"
    if len(set(key)) < MIN_DISTINCT_CHARACTERS:
        return f"fewer than {MIN_DISTINCT_CHARACTERS} distinct characters"
    if _periodic(key):
        return "a short pattern repeated"
    return None
