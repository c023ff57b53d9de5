"""Checkpoint files: finished replicates saved as JSON, so an interrupted run can resume."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from alliance_stats.errors import InputError

_CHECKPOINT_VERSION = 1


def to_jsonable(value):
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def config_fingerprint(config: dict) -> str:
    text = json.dumps(to_jsonable(config), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def load_checkpoint(path: Path, fingerprint: str) -> dict:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(
            f"checkpoint '{path}' cannot be read ({exc}); delete it to start afresh"
        ) from exc
    if not isinstance(data, dict) or data.get("version") != _CHECKPOINT_VERSION:
        raise InputError(f"'{path}' is not an alliance_stats power checkpoint; delete it or "
                         "choose another checkpoint file")  # fmt: skip
    if data.get("fingerprint") != fingerprint:
        raise InputError(
            f"checkpoint '{path}' belongs to a run with other settings (design, effects, "
            "n_sims, seed, alpha, model, precision or batch size); delete it or use another file"
        )
    return {(r["point"], r["effect"], r["replicate"]): r for r in data["records"]}


def save_checkpoint(path: Path, fingerprint: str, config: dict, done: dict) -> None:
    from alliance_stats.files import atomic_write

    payload = {
        "version": _CHECKPOINT_VERSION,
        "fingerprint": fingerprint,
        "config": to_jsonable(config),
        "records": [done[k] for k in sorted(done, key=lambda k: (k[0], k[1], k[2]))],
    }
    text = json.dumps(payload)
    atomic_write(path, lambda p: p.write_text(text))
