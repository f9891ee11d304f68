"""Diagnostics: `models status` (with and without ``--probe``) and `doctor`. They read the
same state and run the same code as turns (docs/auth.md, "The one path rule")."""

from clawgate.diagnostics._doctor import Check, DoctorReport, run_doctor
from clawgate.diagnostics._gateway import gateway_facts
from clawgate.diagnostics._status import (
    ChainEntry,
    Grant,
    ProfileReport,
    StatusReport,
    collect_status,
)

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
