"""What each failure class does (docs/routing.md, "What each failure class does"), as data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from clawgate.failures import Failure
from clawgate.failures import FailureClass as F
from clawgate.providers import Phase

__all__ = ["TABLE", "Rule", "rule_for"]

Same = Literal["no", "once", "retry_after"]
NextModel = Literal["yes", "no", "larger_context"]
Effect = Literal[
    "none", "cooldown", "short_cooldown", "block_profile", "block_model", "needs_login", "circuit"
]


@dataclass(frozen=True)
class Rule:
    same: Same  # retry the same candidate?
    next_profile: bool  # try the model's other profiles?
    next_model: NextModel  # move on to the next model?
    effect: Effect  # what health remembers
    backoff: bool = False  # wait a jittered moment before the retry

    @property
    def stops(self) -> bool:
        return not self.next_profile and self.next_model == "no"


_CIRCUIT_ONCE = Rule("once", True, "yes", "circuit")

TABLE: Mapping[F, Rule] = {
    F.RATE_LIMIT: Rule("retry_after", True, "yes", "cooldown"),
    F.QUOTA: Rule("no", True, "yes", "block_profile"),
    F.ENTITLEMENT: Rule("no", True, "yes", "block_model"),
    F.BILLING: Rule("no", True, "yes", "block_profile"),
    F.AUTH_DEAD: Rule("no", True, "yes", "needs_login"),
    # The retry goes through the broker again, which refreshes first.
    F.AUTH_TRANSIENT: Rule("once", True, "yes", "short_cooldown"),
    F.OVERLOADED: Rule("once", True, "yes", "circuit", backoff=True),
    F.SERVER_ERROR: Rule("once", True, "yes", "circuit", backoff=True),
    F.NETWORK: _CIRCUIT_ONCE,
    F.TIMEOUT: _CIRCUIT_ONCE,  # connect; the silent phases are below
    F.STREAM_BROKEN: _CIRCUIT_ONCE,  # before the first token; after it, see `rule_for`
    F.CONTEXT_OVERFLOW: Rule("no", False, "larger_context", "none"),
    F.CONTENT_FILTER: Rule("no", False, "no", "none"),
    F.BAD_REQUEST: Rule("no", False, "no", "none"),
    F.MODEL_NOT_FOUND: Rule("no", False, "yes", "none"),
    F.UNAVAILABLE: Rule("no", False, "yes", "none"),
}

# A route that went silent (no first token, a stall, the total) is not tried again.
_SILENT = Rule("no", True, "yes", "circuit")


def rule_for(failure: Failure, phase: Phase) -> Rule:
    """What ``failure`` means for the walk, given how far the attempt's answer had got."""
    if phase is not Phase.NOT_STARTED:
        return _SILENT  # the answer is restarted elsewhere or ends with an error
    if failure.kind is F.TIMEOUT and failure.phase not in (None, "connect"):
        return _SILENT
    return TABLE[failure.kind]
