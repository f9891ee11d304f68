from tests.state.backends import backend, state_backend

__all__ = ["backend", "state_backend"]
