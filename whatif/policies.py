"""The routing policies the lab plays side by side: contactd's own, the plain queues it is
measured against, and any other written as engine settings in a TOML file.

    [policies.promise_only]      # a name of your own
    order = "promise"            # "promise": earliest due time first; "arrival": longest wait
    priority = "own"             # "first", "own" (a contact's own above its queue's), "none"
    agents = "skill"             # "skill": highest level, bullseye; "idle": longest idle
    overflow = true              # overflow to other queues after their time
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from routing.engine import CONTACTD, Policy
from whatif.files import WhatIfFileError, read_toml

PRESETS: Mapping[str, Policy] = {
    # contactd's routing as the daemon runs it (routing.engine.CONTACTD).
    "contactd": CONTACTD,
    # Asterisk app_queue's default: first in, first out, to the agent idle longest among
    # the queue's members; no skill levels, priorities or overflow.
    "fifo": Policy(order="arrival", priority="none", agents="idle", overflow=False),
    # Skills-based routing without urgency by promise: contactd's matching (levels,
    # bullseye, overflow) taking contacts by priority and then the longest wait.
    "skills": Policy(order="arrival", priority="first", agents="skill", overflow=True),
}


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    order: Literal["promise", "arrival"] = "promise"
    priority: Literal["first", "own", "none"] = "first"
    agents: Literal["skill", "idle"] = "skill"
    overflow: bool = True


def read(path: Path) -> dict[str, Policy]:
    """The policies of a file, by name (docs/how-to/whatif.md)."""
    raw = read_toml(path)
    tables = raw.get("policies")
    if not isinstance(tables, dict) or not tables or set(raw) != {"policies"}:
        raise WhatIfFileError(f"{path}: write each policy as a [policies.<name>] table")
    found, problems = {}, []
    for name, table in tables.items():
        try:
            p = _PolicyFile.model_validate(table)
        except ValidationError as exc:
            problems += [
                f"{path}: policies.{name}.{'.'.join(str(x) for x in e['loc'])}: {e['msg']}"
                for e in exc.errors()
            ]
            continue
        found[name] = Policy(
            order=p.order, priority=p.priority, agents=p.agents, overflow=p.overflow
        )
    if problems:
        raise WhatIfFileError("\n".join(problems))
    return found


def named(names: list[str], extra: Mapping[str, Policy]) -> dict[str, Policy]:
    """The policies asked for by name, from the presets and a file's."""
    known = {**PRESETS, **extra}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise WhatIfFileError(f"unknown policy {', '.join(unknown)}; known: {', '.join(known)}")
    return {n: known[n] for n in names}
