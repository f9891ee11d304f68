"""Channels: where turns come from besides the HTTP API and the terminal. Each is a thin
skin over the runtime, run inside the gateway process (docs/architecture.md)."""

from clawgate.channels import telegram

__all__ = ["telegram"]
