"""``iec-poller check-config FILE``: validate a configuration and summarise it."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import defaultdict

from poller.config import Config, ConfigError, load_config
from poller.schedule import Schedule

from ._help import HelpFormatter

EXIT_INVALID = 2
"""The configuration has problems (each printed on stderr)."""
NEXT_RUNS = 3


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "check-config",
        formatter_class=HelpFormatter,
        help="validate a configuration file and summarise it",
        description=(
            "Validate a configuration file as the daemon would load it (secret files and"
            " ${VAR} included) and print its buses, meters, schedules with their next run"
            " times, and sinks. Every problem is printed on stderr as"
            " file:line:column: key.path: message, and the exit status is 2."
        ),
    )
    parser.add_argument("file", help="the YAML configuration")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"{args.file}: {count} problem{'s' * (count != 1)}", file=sys.stderr)
        return EXIT_INVALID
    for line in summary(config, args.file, dt.datetime.now(dt.UTC)):
        print(line)
    return 0


def summary(config: Config, name: str, now: dt.datetime) -> list[str]:
    """The lines ``check-config`` prints for a valid ``config``, next runs after ``now``."""
    lines = [f"{name}: valid", f"state_dir: {config.state_dir}", f"timezone: {config.zone}"]
    users: dict[Schedule, list[str]] = defaultdict(list)
    for bus in config.buses:
        count = len(bus.meters)
        lines.append(f"bus {bus.name} on {bus.port}: {count} meter{'s' * (count != 1)}")
        for meter, settings in zip(bus.meters, bus.meter_settings(), strict=True):
            label = f"{bus.name}/{meter.name or meter.address}"
            schedule = config.meter_schedule(bus, meter)
            profiles = config.profile_schedule(bus, meter)
            text = f"  {settings.address:<16} {meter.name or '-':<16} {settings.mode.value:<12}"
            if schedule is not None:
                text += f" {schedule.describe()}"
                users[schedule].append(label)
            if profiles is not None:
                text += f"; profiles {profiles.describe()}"
                users[profiles].append(f"{label} (profiles)")
            lines.append(text.rstrip())
    lines.append("schedules:")
    for schedule, labels in users.items():
        zone = schedule.timezone
        runs = ", ".join(s.astimezone(zone).isoformat() for s in schedule.upcoming(now, NEXT_RUNS))
        lines.append(f"  {schedule.describe()}: {len(labels)} read(s)")
        lines.append(f"    next: {runs}")
    lines.append("sinks:")
    for sink in config.sinks:
        kind = getattr(sink, "type", type(sink).__name__)
        sink_name = getattr(sink, "name", None)
        lines.append(f"  {kind}" + (f" ({sink_name})" if sink_name else ""))
    http = config.http
    lines.append(f"http: {'http://' + http.listen if http.enabled else 'disabled'}")
    return lines
