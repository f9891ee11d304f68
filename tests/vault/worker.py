"""A separate process that works on a vault, for the crash and concurrency tests.

python -m tests.vault.worker STATE_DIR write-forever PROFILE
python -m tests.vault.worker STATE_DIR increment PROFILE N
python -m tests.vault.worker STATE_DIR hold-lock PROFILE

On the backend of the test that started it (``VAULT_TEST_URL``: `tests.vault_backends`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from clawgate.secret import Secret
from clawgate.vault import KeyResolver, StoredProfile, TokenMaterial
from tests.vault_backends import make_vault


def bump(current: StoredProfile | None) -> TokenMaterial:
    assert current is not None
    assert isinstance(current.material, TokenMaterial)
    return TokenMaterial(Secret(str(int(current.material.token.reveal()) + 1)))


def main() -> None:
    state_dir, action, profile = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    vault = make_vault(state_dir / "vault", KeyResolver(state_dir / "vault", {}), lock_timeout=60)
    provider = profile.split(":")[0]
    if action == "write-forever":
        print("ready", flush=True)
        n = 0
        while True:
            n += 1
            vault.save(profile, provider, TokenMaterial(Secret(f"{n:08d}" * 64)))
    elif action == "increment":
        for _ in range(int(sys.argv[4])):
            vault.update(profile, provider, bump)
    elif action == "hold-lock":
        with vault.lock(profile):
            print("locked", flush=True)
            sys.stdin.read()  # hold until killed


if __name__ == "__main__":
    main()
