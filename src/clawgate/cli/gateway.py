"""`clawgate gateway …`: run the gateway, ask the running one how it is, its token."""

from __future__ import annotations

import json
import time
from typing import Any

import click
import httpx

from clawgate.cli._app import App, pass_app
from clawgate.cli._telegram_line import telegram_line
from clawgate.cli.gateway_keys import keys_group
from clawgate.config import ConfigError
from clawgate.errors import ClawgateError
from clawgate.service import (
    EX_CONFIG,
    UNIT_NAME,
    configure_logging,
    gateway_token,
    install_unit,
    running_gateway,
    start_background,
    start_unit,
    stop_gateway,
    uninstall_unit,
    unit_path,
)


class NotRunning(ClawgateError):
    code = "not_running"
    exit_code = 3


@click.group("gateway")
def gateway_group() -> None:
    """The gateway: OpenAI-compatible API and control API on 127.0.0.1."""


@gateway_group.command("run")
@click.option("--bind", metavar="HOST", help="Address to listen on (default: gateway.bind).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default: gateway.port).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Processes serving the port (default: gateway.workers).",
)
@pass_app
def run(app: App, bind: str | None, port: int | None, workers: int | None) -> None:
    """Run in the foreground until SIGTERM or Ctrl-C (turns in flight finish first)."""
    try:
        settings = app.config.settings
    except ConfigError as exc:
        app.err.print(f"[red]error:[/] {exc.message}")
        raise SystemExit(EX_CONFIG) from None
    host = bind or settings.gateway.bind

    def logs() -> None:
        # In every serving process, after uvicorn's Config, which replaces the logging setup
        # it finds (a worker opens the vault itself, after the fork).
        configure_logging(app.paths.logs_dir, secrets=[gateway_token(app.vault, app.env).reveal()])

    def ready(facts: dict[str, Any]) -> None:
        workers = f", {facts['workers']} workers" if facts.get("workers") else ""
        app.err.print(
            f"clawgate gateway listening on http://{facts['bind']}:{facts['port']} "
            f"(pid {facts['pid']}{workers}); Ctrl-C or SIGTERM stops it",
            highlight=False,
        )

    port = settings.gateway.port if port is None else port
    workers = settings.gateway.workers if workers is None else workers
    # Imported here: the server (starlette, uvicorn, the providers) is for this command only,
    # not for the commands that import tell_gateway from this module.
    from clawgate.gateway import serve

    serve(
        app.paths,
        app.env,
        bind=host,
        port=port,
        workers=workers,
        on_serving=logs,
        on_ready=ready,
    )
    app.err.print("clawgate gateway stopped", highlight=False)  # on SIGTERM or Ctrl-C


@gateway_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_app
def status(app: App, as_json: bool) -> None:
    """Pid, address, uptime, config generation and per-profile state of the running gateway."""
    client = running_gateway(app.paths, app.env, app.vault)
    if client is None:
        raise NotRunning("no gateway is running", fix="start one: clawgate gateway run")
    try:
        facts = client.status()
    except httpx.HTTPError as exc:
        raise NotRunning(
            f"the gateway (pid {client.pid}) does not answer: {type(exc).__name__}",
            fix="restart it: clawgate gateway run",
        ) from None
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return
    config = facts["config"]
    app.out.print(
        f"running: pid {facts['pid']} on {facts['bind']}:{facts['port']}, up "
        f"{_duration(facts['uptime'])}, config generation {config['generation']}"
    )
    if config["error"]:
        app.out.print(f"[yellow]config not reloaded:[/] {config['error']}")
    if channel := telegram_line((facts.get("channels") or {}).get("telegram")):
        app.out.print(f"  {channel}")
    for p in facts["profiles"]:
        style = "green" if p["state"] == "ok" else "red"
        app.out.print(f"  {p['id']:<32} {p['kind'] or '?':<8} [{style}]{p['state']}[/]")


@gateway_group.command("token")
@click.option("--rotate", is_flag=True, help="Make a new token; the old one stops working.")
@pass_app
def token(app: App, rotate: bool) -> None:
    """Print the API's bearer token (made on first use)."""
    click.echo(gateway_token(app.vault, app.env, rotate=rotate).reveal())


def _duration(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(seconds))


def tell_gateway(app: App) -> None:
    """After a change to config or credentials: say whether the running gateway has it."""
    try:
        client = running_gateway(app.paths, app.env, app.vault)
        if client is None:
            return
        answer = client.reload()
    except (httpx.HTTPError, ValueError, ClawgateError):
        app.err.print("[yellow]note:[/] a gateway is running but did not answer the reload")
        return
    if answer.get("ok"):
        app.err.print(
            f"the running gateway (pid {client.pid}) picked it up "
            f"(config generation {answer['generation']})"
        )
    else:
        app.err.print(
            f"[yellow]the running gateway kept its last good config:[/] {answer.get('error')}"
        )


@gateway_group.command("install")
@pass_app
def install(app: App) -> None:
    """Write a systemd user unit (restart on failure, not on bad config) and enable it."""
    path, enabled = install_unit(app.paths, app.env)
    click.echo(f"wrote {path}")
    if enabled:
        click.echo(f"enabled; start it with: systemctl --user start {UNIT_NAME}")
    else:
        click.echo("no user systemd here: `clawgate gateway start` runs it in the background")


@gateway_group.command("uninstall")
@pass_app
def uninstall(app: App) -> None:
    """Stop, disable and remove the systemd user unit."""
    if uninstall_unit(app.env):
        click.echo(f"removed {unit_path(app.env)}")
    else:
        click.echo("no unit installed")


@gateway_group.command("start")
@pass_app
def start(app: App) -> None:
    """Start the gateway: through systemd when its unit is installed, else in the background."""
    if unit_path(app.env).exists() and start_unit():
        click.echo(f"started {UNIT_NAME}")
        return
    pid = start_background(app.paths, app.env)
    click.echo(f"started: pid {pid}, log in {app.paths.logs_dir / 'gateway.log'}")


@gateway_group.command("stop")
@pass_app
def stop(app: App) -> None:
    """Stop the running gateway; turns in flight finish first."""
    pid = stop_gateway(app.paths)
    click.echo(f"stopped pid {pid}" if pid else "no gateway is running")


@gateway_group.command("restart")
@pass_app
def restart(app: App) -> None:
    """Stop the running gateway (if any) and start it again."""
    stop_gateway(app.paths)
    pid = start_background(app.paths, app.env)
    click.echo(f"restarted: pid {pid}")


gateway_group.add_command(keys_group)
