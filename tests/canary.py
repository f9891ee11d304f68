"""A secret planted in tests; the session fails if it shows up in any output (see conftest)."""

CANARY = "sk-canary-7f3c9a1e5b2d48c6a0e1f9d3b7c5a2e4"
