from __future__ import annotations

import json

import click

from clawgate import config
from clawgate.cli._app import App, pass_app


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def setup(app: App, as_json: bool) -> None:
    """Create the state directory and a commented default config (idempotent)."""
    result = config.setup(app.paths)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "stateDir": str(result.state_dir),
                    "configFile": str(result.config_file),
                    "createdStateDir": result.created_dir,
                    "wroteConfig": result.wrote_config,
                }
            )
        )
        return
    state = "created" if result.created_dir else "exists"
    cfg = "written" if result.wrote_config else "exists, left as it is"
    click.echo(f"state dir  {result.state_dir} ({state})")
    click.echo(f"config     {result.config_file} ({cfg})")
    click.echo('next: clawgate chat "hello"   (answered by the embedded local model)')
