"""The boot test's probe: a script the NoCloud seed puts in the guest that
waits for the datastore engine and the guest agent and reports both on the
serial console, each line carrying a per-boot nonce so nothing else on the
console (or an earlier boot) can be mistaken for a result.

The probe is delivered by the seed, not baked into images, so what is
validated is exactly what ships.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

MARKER = "TROVE-IT-PROBE"

_MYSQL = ("mysqladmin --connect-timeout=3 ping >/dev/null 2>&1 && "
          "mysql -NBe 'SELECT VERSION()'")

# Shell that succeeds, printing the server version, when the engine answers.
ENGINE_CHECKS: dict[str, str] = {
    "mariadb": _MYSQL, "mysql": _MYSQL, "percona": _MYSQL, "pxc": _MYSQL,
    "postgresql": "runuser -u postgres -- psql -XtAc 'SHOW server_version'",
    "redis": ("redis-cli ping | grep -q PONG && "
              "redis-cli INFO server | sed -n 's/^redis_version:\\([^\\r]*\\).*/\\1/p'"),
    "mongodb": "mongosh --quiet --eval 'db.version()'",
    "cassandra": "nodetool version | sed -n 's/^ReleaseVersion: //p' | grep .",
    "couchdb": ("curl -fsS http://127.0.0.1:5984/ | "
                "sed -n 's/.*\"version\":\"\\([^\"]*\\)\".*/\\1/p' | grep ."),
    "couchbase": ("curl -fsS http://127.0.0.1:8091/pools | "
                  "sed -n 's/.*\"implementationVersion\":\"\\([^\"]*\\)\".*/\\1/p' | grep ."),
    "db2": "runuser -l db2inst1 -c 'db2start >/dev/null 2>&1; db2level' | grep -o 'v[0-9.]*'",
    "vertica": "/opt/vertica/bin/vertica --version | head -n 1 | grep .",
}

# The agent logs this (at debug level) once its configuration is read, the
# datastore manager loaded, Docker reached, the volume mounted and RPC set up.
AGENT_STARTED = "Creating RPC server for service guestagent.{guest_id}"


@dataclass(frozen=True)
class ProbeSpec:
    nonce: str
    datastore: str
    mode: str
    guest_id: str
    expect_agent: bool
    engine_service: str
    container_image: str | None = None
    timeout: int = 600
    """Seconds the probe waits for each of the engine and the agent."""

    def engine_check(self) -> str:
        if self.mode == "container":
            ref = shlex.quote(self.container_image or "")
            return f"docker image inspect --format '{{{{.Id}}}}' {ref}"
        return ENGINE_CHECKS[self.datastore]


def script(spec: ProbeSpec) -> str:
    """The probe, as a POSIX shell script run as root once cloud-init is done."""
    started = AGENT_STARTED.format(guest_id=spec.guest_id)
    service = shlex.quote(spec.engine_service)
    return f"""#!/bin/sh
# trove-it boot probe (written by the NoCloud seed, not part of the image)
N={shlex.quote(spec.nonce)}
say() {{ echo "{MARKER} $N $*" > /dev/ttyS0; }}
diag() {{ sed "s/^/{MARKER} $N DIAG /" > /dev/ttyS0; }}
say "START uptime=$(cut -d' ' -f1 /proc/uptime)"
deadline=$(( $(date +%s) + {spec.timeout} ))
result=ok

net=fail
while [ "$(date +%s)" -lt "$deadline" ]; do
    addr=$(ip -4 -o addr show scope global 2>/dev/null | awk '{{print $2 "=" $4}}' | head -n 1)
    if [ -n "$addr" ]; then
        net=ok
        break
    fi
    sleep 2
done
if [ "$net" = ok ]; then
    say "NET ok $addr"
else
    result=fail
    say "NET fail"
    ip addr 2>&1 | diag
    systemctl status --no-pager -n 5 networking.service 2>&1 | diag
fi

engine=fail
while [ "$(date +%s)" -lt "$deadline" ]; do
    if version=$( {{ {spec.engine_check()} ; }} 2>/dev/null ) && [ -n "$version" ]; then
        engine=ok
        break
    fi
    sleep 3
done
if [ "$engine" = ok ]; then
    version=$(echo "$version" | head -n 1 | tr -d ' ')
    say "ENGINE ok version=$version uptime=$(cut -d' ' -f1 /proc/uptime)"
else
    result=fail
    say "ENGINE fail unit={service} state=$(systemctl is-active {service})"
    systemctl status --no-pager -n 10 {service} 2>&1 | tail -n 15 | diag
fi

if [ {"yes" if spec.expect_agent else "no"} = yes ]; then
    agent=fail
    dumps=0
    next_report=$(( $(date +%s) + 60 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if grep -qF {shlex.quote(started)} /var/log/trove/trove-guestagent.log 2>/dev/null; then
            agent=started
            break
        fi
        restarts=$(systemctl show -p NRestarts --value guest-agent.service)
        if [ "${{restarts:-0}}" != "${{reported_restarts:-0}}" ] && [ "$dumps" -lt 3 ]; then
            # The agent failed and is being restarted: say why while it is fresh.
            reported_restarts=$restarts
            dumps=$((dumps + 1))
            say "WAIT agent restarted (restarts=$restarts); its last log lines follow"
            tail -n 25 /var/log/trove/trove-guestagent.log 2>&1 | diag
        fi
        if [ "$(date +%s)" -ge "$next_report" ]; then
            next_report=$(( $(date +%s) + 60 ))
            last=$(tail -n 1 /var/log/trove/trove-guestagent.log 2>/dev/null | cut -c1-160)
            say "WAIT agent state=$(systemctl is-active guest-agent.service)" \
                "restarts=$(systemctl show -p NRestarts --value guest-agent.service) last=$last"
        fi
        sleep 3
    done
    # Started, and still running a little later without having been restarted.
    [ "$agent" = started ] && sleep 10
    state=$(systemctl is-active guest-agent.service)
    restarts=$(systemctl show -p NRestarts --value guest-agent.service)
    if [ "$agent" = started ] && [ "$state" = active ] && [ "$restarts" = 0 ]; then
        say "AGENT ok state=$state restarts=$restarts uptime=$(cut -d' ' -f1 /proc/uptime)"
    else
        result=fail
        say "AGENT fail logged_start=$agent state=$state restarts=$restarts"
        journalctl -u guest-agent.service -n 15 --no-pager 2>&1 | diag
        tail -n 15 /var/log/trove/trove-guestagent.log 2>&1 | diag
    fi
else
    say "AGENT skipped"
fi
say "RESULT $result"
"""


@dataclass
class ProbeReport:
    """What the probe printed, parsed from the console."""

    started: bool = False
    net: dict[str, str] = field(default_factory=dict)
    engine: dict[str, str] = field(default_factory=dict)
    agent: dict[str, str] = field(default_factory=dict)
    result: str | None = None
    diagnostics: list[str] = field(default_factory=list)
    progress: list[str] = field(default_factory=list)


def _fields(words: list[str]) -> dict[str, str]:
    out = {"status": words[0] if words else ""}
    for word in words[1:]:
        key, _, value = word.partition("=")
        out[key] = value
    return out


def parse(console: str, nonce: str) -> ProbeReport:
    report = ProbeReport()
    pattern = re.compile(rf"{MARKER} {re.escape(nonce)} (\S+) ?(.*)")
    for line in console.splitlines():
        match = pattern.search(line)
        if not match:
            continue
        kind, rest = match.group(1), match.group(2).strip()
        if kind == "START":
            report.started = True
        elif kind == "NET":
            report.net = _fields(rest.split())
        elif kind == "ENGINE":
            report.engine = _fields(rest.split())
        elif kind == "AGENT":
            report.agent = _fields(rest.split())
        elif kind == "WAIT":
            report.progress.append(rest)
        elif kind == "DIAG":
            report.diagnostics.append(rest)
        elif kind == "RESULT":
            report.result = rest
    return report
