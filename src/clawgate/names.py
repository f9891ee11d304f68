"""Every name a person (or a file clawgate did not write) gives that becomes a file name, a
database key or a header: checked here, once, before it reaches any of them.

::

    BadName(ClawgateError, ValueError)    bad_request, exit 2: names the allowed form

A profile id names its vault files (``vault/profiles/<id>.json``, ``meta/``, ``locks/``),
percent-encoded by the vault. So it must encode as UTF-8 (Python hands undecodable argv bytes
over as lone surrogates, PEP 383), hold no path separator or control character, and fit one
file name: NAME_MAX is 255 bytes (POSIX ``{NAME_MAX}``; Linux and macOS), and the vault adds
``.json`` and a temp name around it (`clawgate.fileio`). It always starts with a provider id
and a colon, so it is never ``.``, ``..`` or a hidden file. Ids of provider ``clawgate`` are
reserved: older versions kept clawgate's own secrets there (``clawgate:gateway``, the
gateway's token; `vault._secrets`).

Nothing accepted before is refused except what could not be stored anyway (too long for a
file name, not encodable), names with invisible or control characters, and ``clawgate:…``.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from clawgate.errors import ClawgateError

__all__ = [
    "MAX_FILE_STEM",
    "PROVIDER_ID",
    "RESERVED_PROVIDER",
    "BadName",
    "check_profile_id",
    "check_provider_id",
    "check_secret_name",
    "check_session_key",
    "check_turn_id",
    "is_foreign_id",
    "shown",
]

PROVIDER_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
RESERVED_PROVIDER = "clawgate"
MAX_NAME_CHARS = 200  # the name after "<provider>:"
# NAME_MAX less ".json" and the temp name `fileio` writes first: ".<name>.<12 hex>.tmp".
MAX_FILE_STEM = 255 - len(".json") - len("..0123456789ab.tmp")
# What the vault leaves unencoded besides letters, digits and _ . - ~ (quote's own).
FILE_SAFE = "@:+"

_SECRET_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_FOREIGN_ID = re.compile(r"[A-Za-z0-9_-]+")
_TURN_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_SURROGATE = re.compile("[\ud800-\udfff]")  # how undecodable argv bytes arrive
_SESSION_KEY = re.compile(r"[!-~](?:[ -~]{0,126}[!-~])?")  # printable ASCII, no outer spaces

PROFILE_FORM = (
    "use <provider>:<name>: a provider id (lower-case letters, digits and . _ -), then a "
    f"name of 1-{MAX_NAME_CHARS} characters without / \\ or control characters, "
    "like openai-codex:work"
)


class BadName(ClawgateError, ValueError):
    code = "bad_request"
    exit_code = 2


def shown(name: str, limit: int = 40) -> str:
    """``name`` as a message shows it: quoted, cut short, control characters and surrogates
    escaped, so the message stays one printable line."""
    text = repr(name if len(name) <= limit else name[:limit] + "…")
    return f"{text} (not UTF-8)" if _SURROGATE.search(name) else text


def check_provider_id(provider: str) -> str:
    if not PROVIDER_ID.fullmatch(provider):
        raise BadName(
            f"{shown(provider)} is not a provider id: use 1-64 lower-case letters, "
            "digits and . _ -, like openai or openai-codex"
        )
    return provider


def _plain(name: str) -> bool:
    """Printable (no control, format, private-use or unassigned characters, no lone
    surrogates, no separators but the space) and no path separator."""
    return name.isprintable() and "/" not in name and "\\" not in name


def check_profile_id(profile_id: str, *, reserved_ok: bool = False) -> str:
    """``profile_id`` if it can name a profile; ``reserved_ok`` only for the vault, which
    still reads the ids older versions kept its own secrets under."""
    provider, colon, name = profile_id.partition(":")
    valid = bool(colon and PROVIDER_ID.fullmatch(provider)) and 0 < len(name) <= MAX_NAME_CHARS
    if not (valid and _plain(name)):
        raise BadName(f"{shown(profile_id)} is not a profile id: {PROFILE_FORM}")
    if provider == RESERVED_PROVIDER and not reserved_ok:
        raise BadName(
            f"profile id {shown(profile_id)} is reserved: clawgate:… ids are clawgate's own "
            "(its gateway token); use another provider's id, like openai-codex:work"
        )
    size = len(quote(profile_id, safe=FILE_SAFE))
    if size > MAX_FILE_STEM:
        raise BadName(
            f"profile id {shown(profile_id)} is too long: its file name would be {size} bytes, "
            f"at most {MAX_FILE_STEM} fit (each character other than letters, digits and "
            ". _ - ~ @ + : takes 3 per UTF-8 byte); use a shorter name, like openai-codex:work"
        )
    return profile_id


def check_secret_name(name: str) -> str:
    """One of clawgate's own secrets (``vault/secrets/<name>.json``): named by code, not
    people, so a bad one is a programming error (hence also a ValueError)."""
    if not _SECRET_NAME.fullmatch(name):
        raise BadName(
            f"{shown(name)} is not a secret name: use 1-64 lower-case letters, digits and "
            ". _ -, starting with a letter or digit"
        )
    return name


def check_turn_id(turn_id: str) -> str:
    if not _TURN_ID.fullmatch(turn_id):
        raise BadName(
            f"{shown(turn_id)} is not a turn id: use 1-128 letters, digits and . _ : -, "
            "as in the x-clawgate-turn header or `clawgate models decisions`"
        )
    return turn_id


def check_session_key(key: str) -> str:
    """A conversation's key: a state.db key, and sent as a header by providers that key
    caches by conversation (openai-codex's ``session_id``), so ASCII (RFC 9110, 5.5)."""
    if not _SESSION_KEY.fullmatch(key):
        raise BadName(
            f"{shown(key)} is not a session key: use 1-128 printable ASCII characters "
            "(letters, digits, punctuation, inner spaces), like work or telegram:42"
        )
    return key


def is_foreign_id(value: object, length: int) -> bool:
    """``value`` is an id another tool wrote into its own files (an OpenClaw sidecar's ref) of
    exactly ``length`` letters, digits, _ and -: safe as a file name, nothing to climb with."""
    return isinstance(value, str) and len(value) == length and bool(_FOREIGN_ID.fullmatch(value))
