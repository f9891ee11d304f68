"""The built-in providers are registered by name and their transports imported when the first
instance is built (`clawgate.providers`): looking a provider up, as planning a route does,
loads none of them, and building one builds its module's own transport."""

from __future__ import annotations

import importlib

import pytest

from clawgate.config import ProviderSettings
from clawgate.providers import _BUILT_IN, Providers, ProviderSpec, lookup
from tests.test_cli_imports import loaded_by, under

TRANSPORTS = tuple(sorted({f"clawgate.providers.{module}" for _, module, _ in _BUILT_IN}))


def test_looking_up_every_built_in_loads_no_transport() -> None:
    code = "from clawgate.providers import lookup\n" + "".join(
        f"assert lookup({name!r}).name == {name!r}\n" for name, _, _ in _BUILT_IN
    )
    modules = loaded_by(code)
    assert "clawgate.providers._registry" in modules
    assert under(modules, (*TRANSPORTS, "httpx")) == []


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "module", "attribute"), _BUILT_IN, ids=[n for n, *_ in _BUILT_IN])
async def test_a_built_in_builds_its_modules_transport(
    name: str, module: str, attribute: str
) -> None:
    spec: ProviderSpec = getattr(importlib.import_module(f"clawgate.providers.{module}"), attribute)
    assert spec.name == name  # the table in clawgate.providers names the module's own spec
    assert lookup(name).name == name
    providers = Providers({name: ProviderSettings()})
    try:
        assert type(providers.get(name)) is spec.create
        assert providers.get(name) is providers.get(name)  # one live instance per name
    finally:
        await providers.aclose()


def test_a_configured_provider_speaks_its_api_through_a_built_in() -> None:
    # An id that is not built in, with a baseUrl: the spec of the wire its `api` names.
    settings = ProviderSettings(base_url="http://127.0.0.1:1/v1", api="anthropic-messages")
    assert lookup("my-proxy", settings).name == "anthropic"
    assert lookup("ollama", ProviderSettings(base_url="http://127.0.0.1:1/v1")).name == (
        "openai-compatible"
    )
