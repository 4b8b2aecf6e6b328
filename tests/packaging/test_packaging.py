"""The service unit, the container's install step and its Dockerfile.

No Docker engine runs here, so the image itself is not built; its build stage is one
script (``packaging/install.sh``) that this test runs the same way, into a clean
virtual environment, from a copy of the source tree.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "iec-poller.service"


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_unit_is_a_hardened_notify_service() -> None:
    s = unit_settings()
    assert s["Type"] == ["notify"]
    assert s["WatchdogSec"]
    assert s["Restart"] == ["on-failure"]
    assert s["DynamicUser"] == ["yes"]
    assert s["SupplementaryGroups"] == ["dialout"]
    assert s["StateDirectory"] == ["iec-poller"]
    assert s["ConfigurationDirectory"] == ["iec-poller"]
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "RestrictNamespaces"):
        assert s[key] == ["yes"], key
    assert s["ProtectSystem"] == ["strict"]
    assert s["DevicePolicy"] == ["closed"]
    assert all(d.startswith("char-tty") for d in s["DeviceAllow"])
    assert s["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"]
    assert s["CapabilityBoundingSet"] == [""]
    assert "run --config" in s["ExecStart"][0]
    assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    # verify insists that ExecStart exists: point it at this venv's command.
    command = Path(sys.executable).parent / "iec-poller"
    text = UNIT.read_text().replace("/opt/iec-poller/bin/iec-poller", str(command))
    unit = tmp_path / "iec-poller.service"
    unit.write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    # Unknown keys and bad values are only warnings: there must be none.
    assert str(unit) not in done.stderr, done.stderr


def test_systemd_analyze_would_catch_a_mistake(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    unit = tmp_path / "iec-poller.service"
    unit.write_text(UNIT.read_text().replace("WatchdogSec=", "WatchdogSecs="))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert "Unknown key" in done.stderr


def test_dockerfile_runs_unprivileged_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", text, flags=re.MULTILINE)
    assert len(stages) == 2, "multi-stage: build and runtime"
    assert all("slim" in stage for stage in stages)
    assert "RUN sh /src/packaging/install.sh /opt/iec-poller /src" in text
    assert re.search(r"^USER iec-poller$", text, flags=re.MULTILINE)
    assert "--gid dialout" in text
    assert 'VOLUME ["/var/lib/iec-poller"]' in text
    assert "HEALTHCHECK" in text
    assert "/healthz" in text
    assert '"--config", "/etc/iec-poller/config.yaml"' in text
    for line in (ROOT / ".dockerignore").read_text().split():
        assert line != "config", "the image copies config/example.yaml"


# A pip install into a fresh prefix: its own 600 s limit on the install comes first.
@pytest.mark.timeout(660)
def test_install_step_gives_a_working_command(tmp_path: Path) -> None:
    """What the image's build stage does, from a clean copy of the tree."""
    source = tmp_path / "src"
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "*_cache", "__pycache__", "*.egg-info", "build"
    )
    shutil.copytree(ROOT, source, ignore=ignore)
    prefix = tmp_path / "opt"
    done = subprocess.run(
        ["sh", str(source / "packaging" / "install.sh"), str(prefix), str(source)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    version = subprocess.run(
        [prefix / "bin" / "iec-poller", "--version"], capture_output=True, text=True, check=True
    )
    assert re.fullmatch(r"iec-poller \d+\.\d+\.\d+\S*\n", version.stdout)
    # The installed package is the copy's, not the checkout's editable one.
    where = subprocess.run(
        [prefix / "bin" / "python", "-c", "import poller; print(poller.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(prefix))


def test_unit_parses_as_ini() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(UNIT.read_text())
    assert parser.sections() == ["Unit", "Service", "Install"]
