"""A ``--provider`` value, checked while the command line is parsed: a valid id
(`clawgate.names`) that clawgate knows, built in (`catalog.known`), a chat channel's
(`catalog.CHANNEL_PROVIDERS`) or configured (``models.providers.<id>``). A misspelt one is
refused with the nearest known ids (difflib) and the command that lists them, before anything
is stored under it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from clawgate import names
from clawgate.catalog import CHANNEL_PROVIDERS, known
from clawgate.cli._app import App
from clawgate.names import BadName

__all__ = ["KNOWN_PROVIDER", "LIST_PROVIDERS", "check_known"]

LIST_PROVIDERS = "clawgate models list --all"

# click made ParamType generic in 8.2; pyproject allows 8.1, where subscripting it fails.
if TYPE_CHECKING:
    _ParamType = click.ParamType[str, str]
else:
    _ParamType = click.ParamType


def check_known(provider: str, configured: list[str] | None) -> str:
    """``provider`` if clawgate knows it; ``configured`` is None while it need not be read
    (a built-in id), else the config's provider ids."""
    provider = names.check_provider_id(provider)
    builtin = [*known(), *sorted(CHANNEL_PROVIDERS)]
    if provider in builtin or (configured is not None and provider in configured):
        return provider
    every = sorted({*builtin, *(configured or [])})
    import difflib  # a refusal's hint only

    near = difflib.get_close_matches(provider, every, n=3, cutoff=0.6)
    guess = f"; did you mean {' or '.join(near)}?" if near else ""
    raise BadName(
        f"unknown provider {names.shown(provider)}{guess}",
        fix=f"use one of {', '.join(every)} (listed by `{LIST_PROVIDERS}`), or describe "
        f"models.providers.{provider} in clawgate.json: a baseUrl (its API) and, to log in, "
        "an oauth.issuer",
    )


class _KnownProvider(_ParamType):
    name = "provider"

    def convert(self, value: str, param: click.Parameter | None, ctx: click.Context | None) -> str:
        provider = names.check_provider_id(value)
        if provider in known() or provider in CHANNEL_PROVIDERS or ctx is None:
            return provider
        if provider == names.RESERVED_PROVIDER:
            return provider  # refused where its profile id is made, saying why it is reserved
        app = ctx.ensure_object(App)
        return check_known(provider, list(app.config.settings.models.providers))


KNOWN_PROVIDER = _KnownProvider()
