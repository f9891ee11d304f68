"""Vault errors.

::

    VaultError                  code
     ├── Unresolved             unresolved: no usable material for a profile (reason says why)
     │    └── Tampered          tampered: the envelope decrypts under no valid binding
     ├── SecretUnreadable       unresolved: one of clawgate's own secrets cannot be read
     ├── KeyUnavailable         vault_key: no data key can be found or created
     │    └── UnsafePath        unsafe_path: refused like OpenSSH's StrictModes: a directory
     │                          others can write, a key file others can read, a symbolic
     │                          link where a secret or a lock must be (`_strict`)
     ├── LockTimeout            lock_timeout: another process held the profile's lock too long
     └── BadProfileId           bad_request

Messages name the profile and the fix; they never carry material.
"""

from __future__ import annotations

from clawgate.errors import ClawgateError


class VaultError(ClawgateError):
    code = "vault"


class Unresolved(VaultError):
    code = "unresolved"

    def __init__(self, profile_id: str, reason: str, *, fix: str | None = None) -> None:
        super().__init__(f"profile {profile_id} is unresolved: {reason}", fix=fix)
        self.profile_id = profile_id
        self.reason = reason


class Tampered(Unresolved):
    code = "tampered"


class SecretUnreadable(VaultError):
    code = "unresolved"

    def __init__(self, name: str, reason: str, *, fix: str | None = None) -> None:
        super().__init__(f"clawgate's {name} secret cannot be read: {reason}", fix=fix)
        self.name = name
        self.reason = reason


class KeyUnavailable(VaultError):
    code = "vault_key"


class UnsafePath(KeyUnavailable):
    """The vault will not use its key here: whoever else can write the directory or read the
    key file could read or replace the credentials. A KeyUnavailable, so every command that
    reports a missing key reports this one in its place; the fix is the exact ``chmod``."""

    code = "unsafe_path"


class LockTimeout(VaultError):
    code = "lock_timeout"


class BadProfileId(VaultError):
    code = "bad_request"
    exit_code = 2
