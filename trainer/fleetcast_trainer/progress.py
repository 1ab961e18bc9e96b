"""Progress for the TypeScript side: JSON events on stdout, human-readable lines on stderr (rank 0 only)."""

import json
import sys
from datetime import datetime, timezone

from .io import json_safe


def now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def emit(ctx, event):
    if ctx.is_main:
        sys.stdout.write(json.dumps(json_safe(event), allow_nan=False) + "\n")
        sys.stdout.flush()


def say(ctx, text):
    if ctx.is_main:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
