"""``iec-poller config-schema``: the configuration's JSON Schema, for editors."""

from __future__ import annotations

import argparse
import json

from poller.config import config_json_schema

from ._help import HelpFormatter


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "config-schema",
        formatter_class=HelpFormatter,
        help="print the JSON Schema of the configuration file",
        description=(
            "Print the JSON Schema of the YAML configuration, including the settings of"
            " every installed sink type. Editors with a YAML language server use it for"
            " completion and checks: # yaml-language-server: $schema=iec-poller.schema.json"
        ),
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print(json.dumps(config_json_schema(), indent=2, sort_keys=False))
    return 0
