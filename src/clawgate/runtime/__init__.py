"""Runtime: a turn from request to recorded answer, the same for every channel."""

from clawgate.runtime._turn import (
    Attempt,
    Runtime,
    TurnEvent,
    TurnFailed,
    TurnRequest,
    TurnResult,
)

__all__ = ["Attempt", "Runtime", "TurnEvent", "TurnFailed", "TurnRequest", "TurnResult"]
