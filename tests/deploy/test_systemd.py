"""The systemd unit of the deployment (`deploy/systemd/auction@.service`): it restarts the
process, raises its file limit, runs it as a dedicated user with the system read-only,
and its command line is one `auction serve` understands: started here as the unit
would start it, the process serves and stops cleanly on the unit's stop signal."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from helpers import free_port, wait_for_port

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "auction@.service"


def read_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> values (a key may be given several times)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_the_unit_restarts_the_server_raises_its_file_limit_and_confines_it() -> None:
    service = read_unit(UNIT.read_text())["Service"]
    one = {key: values[-1] for key, values in service.items()}
    assert one["Restart"] in ("always", "on-failure") and one["RestartSec"]
    assert int(one["LimitNOFILE"]) >= 65536
    assert one["User"] not in ("", "root", "0") and one["Group"] not in ("", "root", "0")
    assert one["StateDirectory"].startswith("auction/")
    hardening = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                 "PrivateTmp": "yes", "PrivateDevices": "yes", "CapabilityBoundingSet": "",
                 "RestrictSUIDSGID": "yes", "ProtectKernelTunables": "yes",
                 "ProtectControlGroups": "yes", "UMask": "0077"}
    assert {key: one.get(key) for key in hardening} == hardening
    assert set(one["RestrictAddressFamilies"].split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert "@system-service" in service["SystemCallFilter"]


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = os.environ.get("AUCTION_SYSTEMD_ANALYZE") or shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: ./dev test installs it (Debian's systemd)")
    auction = Path(sys.executable).parent / "auction"
    unit = tmp_path / "auction@8081.service"
    unit.write_text(UNIT.read_text().replace("/opt/auction/venv/bin/auction", str(auction)))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "auction@8081.service" not in result.stderr, result.stderr


def test_the_unit_s_command_line_serves_and_stops_on_its_stop_signal(tmp_path: Path) -> None:
    service = read_unit(UNIT.read_text())["Service"]
    port = free_port()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"secret": "unit-test-secret-0123456789",
                                  "host_tokens": {"host1": "unit-host-token-0123"}}))
    data = tmp_path / "state"
    command = (service["ExecStart"][-1].replace("%i", str(port))
               .replace("/etc/auction/config.json", str(config))
               .replace(f"/var/lib/auction/{port}", str(data)))
    argv = shlex.split(command)
    assert argv[0] == "/opt/auction/venv/bin/auction" and argv[1] == "serve"
    argv[0] = str(Path(sys.executable).parent / "auction")
    environment = dict(os.environ)
    for assignments in service.get("Environment", []):
        environment.update(item.split("=", 1) for item in shlex.split(assignments))
    data.mkdir(mode=0o700)
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(argv, env=environment, cwd=data, stdout=log, stderr=log)
    try:
        wait_for_port("127.0.0.1", port, 30)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as resp:
            assert resp.status == 200
        proc.send_signal(getattr(signal, service["KillSignal"][-1]))
        timeout = float(service["TimeoutStopSec"][-1].removesuffix("s"))
        assert proc.wait(timeout) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
    lines = (tmp_path / "server.log").read_text().splitlines()
    assert any(line.startswith("{") and json.loads(line).get("level") for line in lines), lines
