"""The credential step of a probe: exactly the broker call a turn makes, reported.

Probe and turn share this path (docs/auth.md, "Failure modes" 1): what the probe says about a
profile is what the next turn will find.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clawgate.auth._broker import Broker, CredentialError, How
from clawgate.failures import FailureClass
from clawgate.vault import VaultError
from clawgate.views import to_json


@dataclass(frozen=True)
class CredentialCheck:
    profile_id: str
    ok: bool
    how: How | None = None  # used as is (memory/vault), adopted, refreshed, stale-but-valid
    failure: FailureClass | None = None
    message: str | None = None
    fix: str | None = None
    valid_for: float | None = None  # seconds of access-token validity left

    def to_json(self) -> dict[str, Any]:
        return to_json(self, rename={"profile_id": "profile"})


async def check_credential(broker: Broker, profile_id: str) -> CredentialCheck:
    try:
        credential = await broker.credential(profile_id)
    except CredentialError as exc:
        return CredentialCheck(
            profile_id, False, failure=exc.failure.kind, message=exc.message, fix=exc.fix
        )
    except VaultError as exc:
        # Unreadable or tampered material: a turn skips the profile as needing a login.
        return CredentialCheck(
            profile_id, False, failure=FailureClass.AUTH_DEAD, message=exc.message, fix=exc.fix
        )
    left = None
    if credential.expires_at is not None:
        left = credential.expires_at - broker.clock.now()
    return CredentialCheck(
        profile_id, True, how=credential.how, message=credential.note, valid_for=left
    )
