"""What an import found and did, profile by profile, and the one error it raises.

::

    ImportFailed(ClawgateError)     not_found: nothing to import where something was expected;
                                    nothing usable in a source that is not empty
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clawgate.errors import ClawgateError

SHARED_GRANT_WARNING = (
    "The source tool still holds these logins and will keep refreshing them. Refresh tokens "
    "rotate, so two tools refreshing one login sign you out: stop the other tool from using "
    "them, or log in to clawgate separately."
)


class ImportFailed(ClawgateError):
    code = "not_found"


@dataclass
class ProfileLine:
    """One credential the source holds: where it came from, what it became, or why not."""

    profile: str  # its id in the source
    origin: str  # the file (and table or key) it was read from
    kind: str | None = None  # api_key | token | oauth, when it could be read
    became: str | None = None  # its id in clawgate's vault, when imported
    provider: str | None = None  # its provider in clawgate
    reason: str | None = None  # why it was skipped, or what changed on the way

    @property
    def imported(self) -> bool:
        return self.became is not None


@dataclass
class ImportReport:
    source: Path
    profiles: list[ProfileLine] = field(default_factory=list)
    # Things that are not a profile: a store that cannot be read, a config that is not JSON.
    problems: list[tuple[str, str]] = field(default_factory=list)  # (what, why)
    config: list[str] = field(default_factory=list)  # the settings the import changed
    kept: list[tuple[str, str]] = field(default_factory=list)  # (not overwritten, command)
    notes: list[str] = field(default_factory=list)

    @property
    def imported(self) -> list[str]:
        return [p.became for p in self.profiles if p.became is not None]

    @property
    def skipped(self) -> list[tuple[str, str]]:
        lines = [(p.profile, p.reason or "") for p in self.profiles if p.became is None]
        return self.problems + lines

    def skip(self, what: str, why: str) -> None:
        self.problems.append((what, why))

    def to_json(self) -> dict[str, Any]:
        return {
            "source": str(self.source),
            "imported": self.imported,
            "skipped": [{"profile": what, "reason": why} for what, why in self.skipped],
            "profiles": [
                {
                    "profile": p.profile,
                    "origin": p.origin,
                    "kind": p.kind,
                    "became": p.became,
                    "provider": p.provider,
                    "reason": p.reason,
                }
                for p in self.profiles
            ],
            "config": self.config,
            "kept": [{"setting": what, "command": command} for what, command in self.kept],
            "notes": self.notes,
            "warning": SHARED_GRANT_WARNING if self.imported else None,
        }
