"""Is the Zuul configuration consistent with the repository?

Zuul reports a broken reference only when a job runs, in a change of its
own. This reads every ``zuul.d`` file and checks what can be checked here:
each job's ``tox_envlist`` names envs ``tox.ini`` defines, each playbook
exists, each parent is a job defined here or a known upstream one, each
job in the project stanza exists, and each datastore job's devstack vars
agree with the catalogue and its tox env. Problems name the file and job.
"""

from __future__ import annotations

import configparser
import itertools
import re
from pathlib import Path
from typing import Any

import yaml

from trove_it import catalogue

UPSTREAM_JOBS = frozenset({
    "base", "devstack", "devstack-tempest", "devstack-tox-functional", "grenade",
    "openstack-tox", "openstack-tox-pep8", "openstack-tox-py3", "tox",
})
"""Jobs of zuul-jobs, devstack, grenade and openstack-zuul-jobs this repo uses."""
PLAYBOOK_KEYS = ("pre-run", "run", "post-run", "cleanup-run")
BRACES = re.compile(r"\{([^{}]+)\}")


def tox_envs(tox_ini: Path) -> set[str]:
    """Every env tox.ini defines, with ``{a,b}`` factors expanded."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(tox_ini)
    envs: set[str] = set()
    for section in parser.sections():
        if not section.startswith("testenv:"):
            continue
        name = section.split(":", 1)[1]
        parts = BRACES.split(name)
        # parts alternate literal, choice list, literal, ...
        choices = [p.split(",") if i % 2 else [p] for i, p in enumerate(parts)]
        envs.update("".join(combo) for combo in itertools.product(*choices))
    return envs


def _jobs(zuul_dir: Path) -> tuple[dict[str, tuple[str, dict[str, Any]]], list[tuple[str, Any]]]:
    jobs: dict[str, tuple[str, dict[str, Any]]] = {}
    projects: list[tuple[str, Any]] = []
    for path in sorted(zuul_dir.glob("*.yaml")):
        where = f"{zuul_dir.name}/{path.name}"
        for item in yaml.safe_load(path.read_text()) or []:
            if "job" in item:
                jobs[item["job"]["name"]] = (where, item["job"])
            elif "project" in item:
                projects.append((where, item["project"]))
    return jobs, projects


def _vars(jobs: dict[str, tuple[str, dict[str, Any]]], name: str) -> dict[str, Any]:
    """A job's vars merged over its parents' (devstack_localrc merged too)."""
    where, job = jobs[name]
    parent = job.get("parent")
    merged = _vars(jobs, parent) if parent in jobs else {}
    own = job.get("vars", {})
    for key, value in own.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def problems(repo: Path) -> list[str]:
    jobs, projects = _jobs(repo / "zuul.d")
    envs = tox_envs(repo / "tox.ini")
    found: list[str] = []
    for name, (where, job) in sorted(jobs.items()):
        parent = job.get("parent")
        if parent and parent not in jobs and parent not in UPSTREAM_JOBS:
            found.append(f"{where}: job {name}: parent {parent} is neither defined here nor "
                         f"a known upstream job")
        for key in PLAYBOOK_KEYS:
            for playbook in _as_list(job.get(key)):
                if not (repo / playbook).is_file():
                    found.append(f"{where}: job {name}: {key} playbook {playbook} does not exist")
        if job.get("abstract"):
            continue
        merged = _vars(jobs, name)
        listed = [e.strip() for e in str(merged.get("tox_envlist", "")).split(",") if e.strip()]
        for env in listed:
            if env not in envs:
                found.append(f"{where}: job {name}: tox_envlist names '{env}', which tox.ini "
                             f"does not define")
        found.extend(_datastore_problems(where, name, merged, listed))
    for where, project in projects:
        for pipeline, spec in project.items():
            for entry in (spec or {}).get("jobs", []):
                job_name = entry if isinstance(entry, str) else next(iter(entry))
                if job_name not in jobs and job_name not in UPSTREAM_JOBS:
                    found.append(f"{where}: {pipeline}: job {job_name} is not defined")
    return found


def _datastore_problems(where: str, name: str, merged: dict[str, Any],
                        listed: list[str]) -> list[str]:
    localrc = merged.get("devstack_localrc", {})
    datastore = localrc.get("TROVE_DATASTORE_TYPE")
    if datastore is None:
        return []
    found = []
    entry = catalogue.BY_NAME.get(str(datastore))
    if entry is None:
        found.append(f"{where}: job {name}: TROVE_DATASTORE_TYPE {datastore} is not in the "
                     f"catalogue")
    elif not entry.guest_agent:
        found.append(f"{where}: job {name}: Trove 26 has no guest agent for {datastore}")
    if not localrc.get("TROVE_DATASTORE_VERSION"):
        found.append(f"{where}: job {name}: sets no TROVE_DATASTORE_VERSION")
    if listed and not any(env.endswith(f"-{datastore}") for env in listed):
        found.append(f"{where}: job {name}: deploys {datastore} but its tox_envlist "
                     f"({', '.join(listed) or 'none'}) tests another datastore")
    return found


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
