"""clawgate: a self-hosted gateway for personal AI assistants."""

__version__ = "0.1.0"
