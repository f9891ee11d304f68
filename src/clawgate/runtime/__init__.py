"""Runtime: a turn from request to recorded answer, the same for every channel."""

from clawgate.routing import Restart
from clawgate.runtime._history import fit
from clawgate.runtime._open import open_runtime
from clawgate.runtime._probe import ProbeResult, ProbeTarget, probe, probe_targets
from clawgate.runtime._turn import (
    Answering,
    Runtime,
    TurnEvent,
    TurnFailed,
    TurnRequest,
    TurnResult,
)

__all__ = [
    "Answering",
    "ProbeResult",
    "ProbeTarget",
    "Restart",
    "Runtime",
    "TurnEvent",
    "TurnFailed",
    "TurnRequest",
    "TurnResult",
    "fit",
    "open_runtime",
    "probe",
    "probe_targets",
]
