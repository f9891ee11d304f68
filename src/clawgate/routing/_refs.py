"""Model refs (docs/routing.md: ``provider/model``, or an alias): their form, checked once when a
ref is resolved, and, for a ref a caller sent, that it names a provider this process has.

A ref travels far: into the ``x-clawgate-model`` header (RFC 9110, 5.5: a field value is
visible ASCII, spaces and tabs; a CR, LF or NUL ends the message or is refused), into every
decision record and log line, and into an upstream's URL or body. So its form is narrow:

- the ref as sent: at most `MAX_REF` printable characters (an alias is a config key);
- the provider: a provider id (`clawgate.names.PROVIDER_ID`: lower case, digits, ``. _ -``);
- the model: printable ASCII without outer spaces (every provider's ids are).

An unknown provider in a request is the caller's mistake, refused before any turn starts
(`requested_ref`), not a failed attempt (which a client would read as the gateway's fault and
retry). A ref in the config is trusted here: a mistake there fails its attempt, and the
decision record and ``doctor`` say so.
"""

from __future__ import annotations

import re

from clawgate.config import Settings
from clawgate.errors import ClawgateError, Failed
from clawgate.names import PROVIDER_ID, shown
from clawgate.providers import lookup

__all__ = ["MAX_REF", "RoutingError", "requested_ref", "resolve_ref"]

MAX_REF = 256  # characters of a model ref or alias; real ones are well under 100
_MODEL_ID = re.compile(r"[!-~](?:[ -~]*[!-~])?")  # printable ASCII, no outer spaces
_FORM_FIX = "name a model as <provider>/<model>, e.g. local/smollm2-135m, or by an alias"


class RoutingError(ClawgateError):
    code = "bad_request"
    exit_code = 2


def resolve_ref(ref: str, settings: Settings) -> tuple[str, str]:
    """``provider/model`` or an alias → (provider, model). Model ids may contain '/'.
    `RoutingError` naming what is wrong when ``ref`` has not the form above."""
    if len(ref) > MAX_REF:
        raise RoutingError(
            f"model {shown(ref)} is {len(ref)} characters long; a model ref has at most {MAX_REF}",
            fix=_FORM_FIX,
        )
    if not ref.isprintable():
        raise RoutingError(
            f"model {shown(ref)} has a control or invisible character; a model ref is "
            "printable text",
            fix=_FORM_FIX,
        )
    options = settings.agents.defaults.models
    aliases = {opts.alias: key for key, opts in options.items() if opts.alias}
    target = aliases.get(ref, ref)
    provider, slash, model = target.partition("/")
    if not (slash and provider and model):
        known = ", ".join(sorted(aliases)) or "none configured"
        raise RoutingError(
            f"model {shown(ref)} is neither provider/model nor an alias (aliases: {known})",
            fix=_FORM_FIX,
        )
    if not _MODEL_ID.fullmatch(model):
        raise RoutingError(
            f"model {shown(ref)} has a model id that is not printable ASCII: model ids are "
            "letters, digits, punctuation and inner spaces",
            fix=_FORM_FIX,
        )
    if not PROVIDER_ID.fullmatch(provider):
        lower = provider.lower()
        hint = (
            f"; did you mean {shown(f'{lower}/{model}')}?" if PROVIDER_ID.fullmatch(lower) else ""
        )
        raise RoutingError(
            f"model {shown(ref)} names provider {shown(provider)}, which is not a provider id: "
            f"provider ids are 1-64 lower-case letters, digits and . _ -{hint}",
            fix=_FORM_FIX,
        )
    return provider, model


def requested_ref(ref: str, settings: Settings) -> tuple[str, str]:
    """A ref a caller sent (an API request): `resolve_ref`, then its provider must be one
    this process can speak to: built in, or configured with a ``baseUrl``."""
    provider, model = resolve_ref(ref, settings)
    try:
        lookup(provider, settings.models.providers.get(provider))
    except Failed as exc:
        configured = ", ".join(sorted(settings.models.providers)) or "none"
        raise RoutingError(
            f"model {shown(ref)}: {exc.failure.message}; configured: {configured}",
            fix=exc.failure.fix,
        ) from None
    return provider, model
