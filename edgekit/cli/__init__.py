"""The `edgekit` command: a Click group with one module per subcommand.

Commands parse arguments, call the library and render what it returns; they hold no logic.
A user mistake (`EdgekitError`) is printed as one line and exits with status 2.
"""

from __future__ import annotations

import errno
import sys

import click

from edgekit import __version__
from edgekit.errors import EdgekitError


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EdgekitError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(2)
        except OSError as err:
            if err.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            # a full disk is the user's to fix, wherever the library was writing: one line, not a traceback
            where = f" {err.filename}" if err.filename else ""
            click.echo(f"error: could not write{where}: {err.strerror}; free some space and rerun "
                       "(training: with --resume)", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edgekit")
def main() -> None:
    """edgekit: wrist-worn sensor classifiers from data to device."""


def _register() -> None:
    from edgekit.cli import bridge, data, demo, export, models, recipes
    from edgekit.cli import train as train_cli

    main.add_command(data.data)
    main.add_command(models.models)
    main.add_command(recipes.recipes)
    main.add_command(train_cli.train)
    main.add_command(export.export)
    main.add_command(bridge.bridge)
    main.add_command(demo.demo)
    from edgekit.cli import bench, stream, sweep

    main.add_command(stream.stream)
    main.add_command(bench.bench)
    main.add_command(sweep.sweep)


_register()
