"""The systemd unit under workflows/daemon/systemd/: its own user, state and configuration folders made
by systemd, files readable by it alone, restarted on failure but not on a refusal, and hardened
(`systemd-analyze security --offline=true` rates it 3.0 or lower: run when systemd-analyze is
on this machine)."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests import ROOT

UNIT = ROOT / "workflows" / "daemon" / "systemd" / "ast-engine.service"


def settings() -> dict[str, dict[str, list[str]]]:
    """Section -> key -> every value given (a key may be given more than once)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        assert current is not None, line
        current.setdefault(key, []).append(value)
    return sections


def test_the_unit_runs_as_its_own_user_with_folders_systemd_makes_for_it():
    service = settings()["Service"]
    assert service["DynamicUser"] == ["yes"]
    assert "User" not in service   # no account to create by hand
    assert service["StateDirectory"] == ["ast-engine"]
    assert service["ConfigurationDirectory"] == ["ast-engine"]
    assert service["WorkingDirectory"] == ["/var/lib/ast-engine"]
    assert service["UMask"] == ["0077"]
    assert any(v.startswith("AST_ENGINE_DB=sqlite:////var/lib/ast-engine/")
               for v in service["Environment"])
    assert service["EnvironmentFile"] == ["-/etc/ast-engine/secrets.env"]
    assert service["ExecStartPre"][0].endswith("ast-engine init")
    assert service["ExecStart"][0].endswith("ast-engine daemon")


def test_the_unit_restarts_on_failure_but_not_on_a_refusal_and_has_a_watchdog():
    service = settings()["Service"]
    assert service["Restart"] == ["on-failure"]
    assert service["RestartPreventExitStatus"] == ["2"]
    assert service["Type"] == ["notify"]   # the daemon sends READY=1 and WATCHDOG=1
    assert int(service["WatchdogSec"][0]) >= 120   # longer than a slow relay plus a busy file
    assert service["KillSignal"] == ["SIGTERM"]


def test_the_unit_is_sandboxed():
    service = settings()["Service"]
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict",
                       "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
                       "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
                       "ProtectControlGroups": "yes", "RestrictNamespaces": "yes",
                       "RestrictSUIDSGID": "yes", "LockPersonality": "yes",
                       "MemoryDenyWriteExecute": "yes", "CapabilityBoundingSet": "",
                       "SystemCallArchitectures": "native"}.items():
        assert service.get(key) == [value], key
    assert service["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"]
    assert "@system-service" in service["SystemCallFilter"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not on this machine")
def test_systemd_analyze_rates_the_unit_3_or_lower():
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", str(UNIT)],
                            capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= 3.0, result.stdout


def test_the_daemon_tells_systemd_it_is_ready_alive_and_stopping(tmp_path):
    """Type=notify and WatchdogSec= in a real daemon process: READY=1 once started, WATCHDOG=1
    as it works, STOPPING=1 on SIGTERM, on the socket systemd names in NOTIFY_SOCKET."""
    import socket

    from tests import daemon_harness as h
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    h.seed_overdue(url, 1)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify"))
    listener.settimeout(30)
    env = h.daemon_env(folder=tmp_path / "outbox") | {
        "NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "120000000"}
    daemon = h.start_daemon(url, tmp_path / "daemon.log", env)
    heard: list[str] = []
    try:
        while not any("WATCHDOG=1" in m for m in heard):
            heard.append(listener.recv(4096).decode())
    finally:
        assert h.stop(daemon) == 0
    listener.settimeout(5)
    while "STOPPING=1" not in heard[-1]:
        heard.append(listener.recv(4096).decode())
    listener.close()
    assert heard[0].startswith("READY=1")
