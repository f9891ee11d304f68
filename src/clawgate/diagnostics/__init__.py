"""Diagnostics: `models status` (with and without ``--probe``) and `doctor`. They read the
same state and run the same code as turns (docs/auth.md, "The one path rule").

Each name is imported from its module when first asked for (PEP 562), so `models status`
does not load the doctor's checks (the importers, the login flows) at start-up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clawgate.lazy import lazy_exports

if TYPE_CHECKING:
    from clawgate.diagnostics._doctor import Check, DoctorReport, run_doctor
    from clawgate.diagnostics._gateway import gateway_facts
    from clawgate.diagnostics._status import (
        ChainEntry,
        Grant,
        ProfileReport,
        StatusReport,
        collect_status,
    )

_WHERE = {
    "Check": "_doctor",
    "DoctorReport": "_doctor",
    "run_doctor": "_doctor",
    "gateway_facts": "_gateway",
    "ChainEntry": "_status",
    "Grant": "_status",
    "ProfileReport": "_status",
    "StatusReport": "_status",
    "collect_status": "_status",
}

__all__ = [
    "ChainEntry",
    "Check",
    "DoctorReport",
    "Grant",
    "ProfileReport",
    "StatusReport",
    "collect_status",
    "gateway_facts",
    "run_doctor",
]


__getattr__ = lazy_exports(__name__, _WHERE)
