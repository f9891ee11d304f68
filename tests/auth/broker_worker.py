"""One process of the refresh storm: M concurrent callers ask the broker for the same
profile, then use what they got at the issuer's userinfo endpoint.

python -m tests.auth.broker_worker STATE_DIR CALLERS NOW
Waits for a line on stdin (so that all processes start together), prints one JSON line:
per caller, what the broker did, the generation, the userinfo status and the wait in ms.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import httpx

from clawgate import auth
from clawgate.clock import ManualClock
from tests.auth.helpers import PROFILE, broker, settings


async def main(state: Path, callers: int, now: float) -> None:
    clock = ManualClock(start=now)
    issuer = settings(state).models.providers["myidp"].oauth
    assert issuer is not None
    async with httpx.AsyncClient(timeout=30) as http:
        the_broker = broker(state, http, clock)
        sys.stdin.readline()

        async def caller() -> dict[str, object]:
            started = time.perf_counter()
            try:
                credential = await the_broker.credential(PROFILE)
            except auth.CredentialError as exc:
                return {"error": exc.code}
            waited = (time.perf_counter() - started) * 1000
            assert credential.token is not None
            me = await http.get(
                f"{issuer.issuer}/me",
                headers={"Authorization": f"Bearer {credential.token.reveal()}"},
            )
            return {
                "how": credential.how,
                "generation": credential.generation,
                "me": me.status_code,
                "ms": waited,
            }

        results = await asyncio.gather(*(caller() for _ in range(callers)))
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))
