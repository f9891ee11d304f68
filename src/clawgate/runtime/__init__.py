"""Runtime: a turn from request to recorded answer, the same for every channel.

A turn's events are routing's (`Answering`, the provider's content, `Restart`, `TurnResult`),
passed on as they are; they are exported here so channels need only this package."""

from clawgate.routing import Answering, Restart, TurnEvent, TurnResult
from clawgate.runtime._commands import (
    COMMANDS,
    Command,
    ModelChoice,
    choose_model,
    help_text,
    keep_interrupted,
    known_models,
    message_text,
    parse_command,
    status_text,
)
from clawgate.runtime._embed import EmbedRequest, embed
from clawgate.runtime._history import estimate_input, estimate_tokens, fit
from clawgate.runtime._open import open_runtime
from clawgate.runtime._probe import ProbeResult, ProbeTarget, probe, probe_targets
from clawgate.runtime._turn import Runtime, TurnFailed, TurnRequest

__all__ = [
    "COMMANDS",
    "Answering",
    "Command",
    "EmbedRequest",
    "ModelChoice",
    "ProbeResult",
    "ProbeTarget",
    "Restart",
    "Runtime",
    "TurnEvent",
    "TurnFailed",
    "TurnRequest",
    "TurnResult",
    "choose_model",
    "embed",
    "estimate_input",
    "estimate_tokens",
    "fit",
    "help_text",
    "keep_interrupted",
    "known_models",
    "message_text",
    "open_runtime",
    "parse_command",
    "probe",
    "probe_targets",
    "status_text",
]
