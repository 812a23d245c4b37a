"""Kubernetes CronJobs and crontab lines that run where the checkouts are.

Two forms for each engine:

* **the tick** (recommended): per runner host, one CronJob or crontab line every 15 minutes
  (UTC) running ``schedule prepare --due --tick 15m --window 1h`` against the roster for that
  host. Our cadence decides what is due, so DST, ``paused_until`` and "last day of the month"
  are ours by construction, and a manifest change needs no re-export;
* **per agent**: one CronJob or line per (repository, agent) on the engine's own calendar. Its
  command is ``schedule prepare AGENT --if-due 1h``: the prepare itself decides whether a slot of
  the agent is due, so the "last day" run on days 28-31 exits 0 on the other days, a paused
  agent resumes by itself, and a second start in a repeated hour finds its bundle made.

Every path a command names is mounted (CronJobs) or absolute and given by flags (crontab).
Nothing a roster says reaches a line or a manifest unchecked: host names, slugs and paths pass
``names`` where they enter, and each writer refuses a control character again before embedding
a value (a newline would end a crontab line and start a job of its own); a pod never mounts
``/``, a system folder or a top-level folder such as ``/home``.
"""

import hashlib
import os
import re
import shlex
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

from kaizen_agentic import names
from kaizen_agentic.errors import KaizenError
from kaizen_agentic.export.common import Conflict, Target, conflicts
from kaizen_agentic.manifest import cadence as cad

NAME_MAX: Final = 52  # a CronJob's name: the controller appends 11 characters to Job names
IF_DUE: Final = "1h"  # how late a per-agent start may be and still prepare its slot
HOME: Final = "/home/kaizen"
TICK_NAME: Final = "kaizen-tick"


class Deploy(NamedTuple):
    """Where a runner host keeps things, as the exported commands will see them."""

    bundle_dir: str  # absolute
    binary: str = "kaizen-agentic"  # absolute for crontab; the image's entry on PATH for pods
    roster_file: str | None = None  # absolute, read on the host (tick)
    hub_url: str | None = None
    domain: str | None = None
    agent: str | None = None
    root: str | None = None  # absolute: the tick refuses host paths outside it (``--root``)


class Pod(NamedTuple):
    """How a CronJob's pod gets its image and volumes."""

    image: str
    checkout_claim: str | None = None  # a PersistentVolumeClaim; default: hostPath on the node
    bundle_claim: str | None = None  # likewise for the bundle folder
    uid: int = 1000
    hub_secret: str = "kaizen-hub"  # Secret with key `token`, when the roster is a hub


# --- names and schedules ---------------------------------------------------------------------


def dns_label(*parts: str, limit: int = NAME_MAX) -> str:
    """A DNS-1123 label of at most ``limit`` characters naming ``parts``, ending in a stable
    8-character hash of them: readable, and unique even where lowercasing, replacing ``/`` and
    ``.`` or cutting would make two names meet ("a/b-c" and "a/b.c", or two long slugs)."""
    raw = re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-") or "kaizen"
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:8]
    return f"{raw[: limit - 9].rstrip('-')}-{digest}"


def cronjob_name(target: Target) -> str:
    """The target's CronJob name: a unique DNS-1123 label."""
    return dns_label("kaizen", target.slug, target.agent)


def cron_schedule(cadence: cad.Cadence) -> str:
    """The engine's cron line: ``L`` (last day) becomes 28-31; ``--if-due`` keeps the last."""
    parts = cadence.cron.split()
    if parts[2] == "L":
        parts[2] = "28-31"
    return " ".join(parts)


def tick_schedule(tick: timedelta) -> str:
    """``*/15 * * * *`` for 15 minutes; a tick must divide an hour or a day."""
    minutes, rest = divmod(int(tick.total_seconds()), 60)
    if rest == 0 and 0 < minutes <= 60 and 60 % minutes == 0:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    hours, rest = divmod(minutes, 60)
    if rest == 0 and 0 < hours <= 24 and 24 % hours == 0:
        return f"0 */{hours} * * *" if hours < 24 else "0 0 * * *"
    seconds = int(tick.total_seconds())
    raise KaizenError(
        f"a cron tick must divide an hour or a day (1m..60m, 1h..24h), not {seconds} s"
    )


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


# --- commands ----------------------------------------------------------------------------------


def agent_args(target: Target, deploy: Deploy) -> list[str]:
    """``schedule prepare AGENT --if-due 1h``: prepare the slot if one is due, else exit 0."""
    return [
        "schedule",
        "prepare",
        target.agent,
        "--repo",
        target.path,
        "--out",
        deploy.bundle_dir,
        "--if-due",
        IF_DUE,
        "--json",
    ]


def tick_args(host: str, deploy: Deploy, tick: timedelta, window: timedelta) -> list[str]:
    """``schedule prepare --due --tick``: every slot due on ``host`` in the tick's window."""
    args = ["schedule", "prepare", "--due", "--tick", _duration(tick)]
    args += ["--window", _duration(window)]
    if deploy.roster_file:
        args += ["--roster", deploy.roster_file]
    elif deploy.hub_url:
        args += ["--hub", deploy.hub_url]
    if deploy.domain:
        args += ["--domain", deploy.domain]
    if deploy.agent:
        args += ["--agent", deploy.agent]
    if deploy.root:
        args += ["--root", deploy.root]
    return [*args, "--hostname", host, "--out", deploy.bundle_dir, "--json"]


def embeddable(values: Sequence[str], into: str) -> None:
    """Refuse any value with a control character before it is embedded ``into`` another
    language: the writers' own check, whatever the readers let through."""
    for value in values:
        why = names.label_problem(value)
        if why:
            raise KaizenError(f"{value!r} {why}; refusing to write it into {into}")


# --- mounts ---------------------------------------------------------------------------------


def mount_problem(path: str) -> str | None:
    """Why the host folder ``path`` (absolute, normalised) cannot be mounted into a pod at its
    own path, or None: not ``/``, not in a system folder (it would replace the image's own),
    not a top-level folder (it holds far more than checkouts), not one of the pod's own
    folders."""
    path = names.normal_path(path)
    folder = names.system_folder(path)
    if folder is not None:
        where = "is" if folder == path else "is inside"
        return f"{where} the system folder {folder}"
    if path in names.TOP_FOLDERS:
        return "is a top-level folder"
    if path == HOME:
        return "is the pod's home folder"
    return None


def checkout_mounts(paths: Sequence[str]) -> list[str]:
    """The folders to mount so every checkout in ``paths`` (each mountable) is reachable: their
    common parent when it may be mounted (a checkout added there later needs no re-export),
    else each checkout on its own."""
    if not paths:
        return []
    paths = [names.normal_path(p) for p in paths]
    parent = os.path.commonpath(paths)
    if mount_problem(parent) is None:
        return [parent]
    out: list[str] = []
    for path in sorted(set(paths)):
        if not any(names.within(m, path) for m in out):
            out.append(path)
    return out


# --- Kubernetes ----------------------------------------------------------------------------------


def _notes(target: Target, found: Sequence[Conflict], engine: str) -> list[str]:
    zone = target.cadence.timezone
    out = []
    for c in found:
        when = f"{c.local.isoformat(sep=' ', timespec='minutes')} {zone}"
        if c.kind == "fold":
            out.append(
                f"{when} happens twice (clocks go back): {engine} starts the job at both; the "
                "second start finds the slot's bundle already made"
            )
        else:
            at = c.fires_at.astimezone(target.cadence.zone).strftime("%H:%M")
            out.append(
                f"{when} does not exist (clocks go forward): {engine} may not start the job; "
                f"kaizen-agentic's run is at {at} (the tick export has no such gap)"
            )
    return out


def _mounted(checkouts: Sequence[str], pod: Pod, deploy: Deploy) -> list[str]:
    """The checkout folders to mount; raises ``KaizenError`` for one that may not be."""
    for path in checkouts:
        why = names.path_problem(path) or mount_problem(path)
        if why:
            raise KaizenError(f"host path {path!r} {why}; refusing to mount it into a pod")
    folders = checkout_mounts([names.normal_path(p) for p in checkouts])
    if pod.checkout_claim and len(folders) > 1:
        raise KaizenError(
            f"--checkout-claim mounts one folder, but the checkouts share none that may be "
            f"mounted ({', '.join(folders)}); give checkouts under one folder, or use hostPath"
        )
    if deploy.bundle_dir in folders:
        raise KaizenError(f"--bundle-dir {deploy.bundle_dir} is also a checkout folder")
    return folders


def _volume(name: str, path: str, claim: str | None, kind: str) -> dict[str, Any]:
    if claim:
        return {"name": name, "persistentVolumeClaim": {"claimName": claim}}
    return {"name": name, "hostPath": {"path": path, "type": kind}}


def _pod(
    *,
    pod: Pod,
    deploy: Deploy,
    args: list[str],
    checkouts: Sequence[str],
    host: str,
    zone: str,
    deadline: int,
) -> dict[str, Any]:
    """A Job template whose volumes provide every path ``args`` names."""
    embeddable([host, deploy.binary, *args, *checkouts], "a Kubernetes CronJob")
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for index, folder in enumerate(_mounted(checkouts, pod, deploy)):
        name = "checkouts" if index == 0 else f"checkouts-{index}"
        volumes.append(_volume(name, folder, pod.checkout_claim, "Directory"))
        mounts.append({"name": name, "mountPath": folder, "readOnly": True})
    volumes += [
        _volume("bundles", deploy.bundle_dir, pod.bundle_claim, "DirectoryOrCreate"),
        {"name": "home", "emptyDir": {}},
        {"name": "tmp", "emptyDir": {}},
    ]
    mounts += [
        {"name": "bundles", "mountPath": deploy.bundle_dir},
        {"name": "home", "mountPath": HOME},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    if deploy.roster_file and "--roster" in args:
        volumes.append(_volume("roster", deploy.roster_file, None, "File"))
        mounts.append({"name": "roster", "mountPath": deploy.roster_file, "readOnly": True})
    env: list[dict[str, Any]] = [
        {"name": "HOME", "value": HOME},
        {"name": "TZ", "value": zone},
        # the manifest cache lives with the bundles, so the next tick starts warm
        {"name": "KAIZEN_CACHE_DIR", "value": f"{deploy.bundle_dir}/.cache"},
        # the checkouts belong to another user on the node: let git read them
        {"name": "GIT_CONFIG_COUNT", "value": "1"},
        {"name": "GIT_CONFIG_KEY_0", "value": "safe.directory"},
        {"name": "GIT_CONFIG_VALUE_0", "value": "*"},
    ]
    if "--hub" in args:
        env.append(
            {
                "name": "KAIZEN_HUB_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": pod.hub_secret, "key": "token"}},
            }
        )
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": pod.uid,
            "runAsGroup": pod.uid,
            "fsGroup": pod.uid,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "prepare",
                "image": pod.image,
                "command": [deploy.binary],
                "args": args,
                "env": env,
                "volumeMounts": mounts,
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
        "volumes": volumes,
    }
    if host and not pod.checkout_claim:
        spec["nodeSelector"] = {"kubernetes.io/hostname": host}
    return {
        "spec": {
            "backoffLimit": 2,  # a retry is safe: bundles are idempotent per slot
            "activeDeadlineSeconds": deadline,
            "template": {"spec": spec},
        }
    }


def _cronjob(
    name: str, schedule: str, zone: str, starting: int, annotations: dict[str, str], job: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "kaizen-agentic"},
            "annotations": annotations,
        },
        "spec": {
            "schedule": schedule,
            "timeZone": zone,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": starting,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": job,
        },
    }


def k8s_cronjob(target: Target, *, start: datetime, pod: Pod, deploy: Deploy) -> dict[str, Any]:
    """One agent's CronJob on its own calendar, pinned to the host holding the checkout."""
    notes = _notes(target, conflicts(target.cadence, start), "Kubernetes")
    annotations = {
        "kaizen-agentic/repo": target.slug,
        "kaizen-agentic/agent": target.agent,
        "kaizen-agentic/schedule": cad.describe(target.cadence),
        **({"kaizen-agentic/notes": "; ".join(notes)} if notes else {}),
    }
    job = _pod(
        pod=pod,
        deploy=deploy,
        args=agent_args(target, deploy),
        checkouts=[target.path],
        host=target.host,
        zone=target.cadence.timezone,
        deadline=3600,
    )
    name = cronjob_name(target)
    return _cronjob(
        name, cron_schedule(target.cadence), target.cadence.timezone, 3000, annotations, job
    )


def k8s_tick(
    host: str,
    checkouts: Sequence[str],
    *,
    pod: Pod,
    deploy: Deploy,
    tick: timedelta,
    window: timedelta,
) -> dict[str, Any]:
    """The tick CronJob of one runner host: every ``tick``, what is due on that host."""
    every = int(tick.total_seconds())
    job = _pod(
        pod=pod,
        deploy=deploy,
        args=tick_args(host, deploy, tick, window),
        checkouts=checkouts,
        host=host,
        zone="Etc/UTC",
        deadline=max(every * 4, 600),
    )
    annotations = {
        "kaizen-agentic/host": host,
        "kaizen-agentic/schedule": f"every {_duration(tick)} (UTC): prepare what is due in the "
        f"last {_duration(window)}",
    }
    # A start later than one tick is dropped; the next tick's window catches it up.
    starting = max(every - 60, 30)
    return _cronjob(
        dns_label(TICK_NAME, host), tick_schedule(tick), "Etc/UTC", starting, annotations, job
    )


# --- crontab ------------------------------------------------------------------------------------


def crontab_line(target: Target, *, start: datetime, deploy: Deploy) -> str:
    """One agent's crontab entry (cronie, ``CRON_TZ``), absolute paths only."""
    args = [deploy.binary, *agent_args(target, deploy)]
    described = cad.describe(target.cadence)
    embeddable([target.slug, target.agent, target.cadence.timezone, described, *args], "a crontab")
    text = _cron_command(args)
    notes = ""
    wildcard_hours = any(not field.isdigit() for field in target.cadence.cron.split()[:2])
    folds = [c for c in conflicts(target.cadence, start) if c.kind == "fold"]
    if target.cadence.user_cron and wildcard_hours and folds:
        notes = (
            "# note: cronie starts wildcard-hour jobs in both copies of a repeated hour; the "
            "second start finds the slot's bundle already made\n"
        )
    return (
        f"# {target.slug} {target.agent}: {described}\n{notes}"
        f"CRON_TZ={target.cadence.timezone}\n{cron_schedule(target.cadence)} {text}\n"
    )


def _cron_command(args: Sequence[str]) -> str:
    """``args`` as a crontab command: cron ends a command at a ``%`` (``\\%`` is a literal one),
    and has no way to write a backslash just before a literal ``%``: such a value is refused."""
    for value in args:
        if "\\%" in value:
            raise KaizenError(
                f"{value!r} holds a backslash before a %, which a crontab cannot hold; "
                "refusing to write it into a crontab"
            )
    return shlex.join(args).replace("%", "\\%")


def crontab_tick(host: str, *, deploy: Deploy, tick: timedelta, window: timedelta) -> str:
    """The tick line for one runner host's crontab."""
    args = [deploy.binary, *tick_args(host, deploy, tick, window)]
    embeddable(args, "a crontab")
    text = _cron_command(args)
    return (
        f"# kaizen-agentic tick for {host}: every {_duration(tick)}, prepare what is due in "
        f"the last {_duration(window)}\nCRON_TZ=UTC\n{tick_schedule(tick)} {text}\n"
    )
