"""What the ``nextmove`` end-to-end tests share: running the real script as a user."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

NEXTMOVE = str(Path(sys.executable).parent / "nextmove")


def nextmove(
    database_url: str, *args: str, cwd: Path, as_user: tuple[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``nextmove ARGS`` on the database, as ``(user, token)`` when given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXTMOVE_")}
    env.update(NEXTMOVE_DATABASE_URL=database_url, COLUMNS="250", NO_COLOR="1", TERM="dumb")
    if as_user is not None:
        env.update(NEXTMOVE_USER=as_user[0], NEXTMOVE_TOKEN=as_user[1])
    return subprocess.run(
        [NEXTMOVE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def token_in(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    return next(lines[n + 1] for n, line in enumerate(lines) if line.startswith("token for"))
