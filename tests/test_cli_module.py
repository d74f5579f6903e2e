"""``python -m fedassembly`` runs the whole CLI, commands registered from other modules included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_python_dash_m_runs_every_command(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\n')

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "fedassembly", *argv, "--config", str(config)],
                              capture_output=True, text=True, timeout=60, check=False)

    assert run("assembly", "create", "barrio").returncode == 0
    # `assembly set` was once registered from another module and went missing under `-m`.
    done = run("assembly", "set", "barrio", "--roster", "public")
    assert done.returncode == 0, done.stderr
    assert "roster: public" in done.stdout
