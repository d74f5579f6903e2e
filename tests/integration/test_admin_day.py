"""An admin's bad day, with the real ``fedassembly`` command: a port in use, a locked or missing
database, unusable paths, private files, and a restore after a crash. Every refusal is one line
on stderr and exit 1, and the database is left as it was."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from support.nodes import free_port
from support.processes import run_cli, start_serving, stop_serving, write_config

PASSWORD = "correct horse battery\n"
NOT_A_DIR = "Not a directory"
HOLD_WRITE_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def database_of(folder: Path) -> Path:
    return folder / "data" / "node.sqlite3"


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single line a refused command wrote on stderr (it exited 1 and printed no result)."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == "" and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr.strip()


HoldLock = Callable[[Path, float], None]


@pytest.fixture
def hold_lock() -> Iterator[HoldLock]:
    """Start another process that takes the database's write lock for some seconds."""
    holders: list[subprocess.Popen[str]] = []

    def hold(database: Path, seconds: float) -> None:
        holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITE_LOCK, str(database), str(seconds)],
                                  stdout=subprocess.PIPE, text=True)
        holders.append(holder)
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"

    yield hold
    for holder in holders:
        holder.kill()
        holder.wait()


def test_serve_on_a_port_in_use_says_so_before_touching_the_database(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, port)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = run_cli(config, "serve", timeout=30)
    assert one_line(done) == f"fedassembly: cannot listen on 127.0.0.1:{port}: Address already in use"
    assert not (tmp_path / "data").exists()


async def test_a_second_serve_leaves_the_running_node_its_database(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = write_config(tmp_path, port)
    assert run_cli(config, "assembly", "create", "barrio").returncode == 0
    assert run_cli(config, "person", "create", "ana", stdin=PASSWORD).returncode == 0
    assert run_cli(config, "member", "add", "barrio", "ana", "--facilitator").returncode == 0
    token = run_cli(config, "token", "create", "ana").stdout.strip()
    node = await start_serving(config, base, tmp_path / "node.log")
    try:
        second = run_cli(config, "serve", timeout=30)
        assert "cannot listen on" in one_line(second)
        headers = {"Authorization": f"Bearer {token}"}
        proposal = {"title": "Paint", "content": "Which?", "options": ["a", "b"], "method": "single",
                    "closes_at": "2099-01-01T00:00:00Z"}
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.post(f"{base}/api/v1/groups/barrio/proposals", json=proposal) as answer:
                assert answer.status == 201, await answer.text()
                proposal_id = (await answer.json())["id"]
            async with session.post(f"{base}/api/v1/proposals/{proposal_id}/ballots",
                                    json={"choice": "a"}) as answer:
                assert answer.status == 201, await answer.text()  # the real node still writes
    finally:
        assert stop_serving(node) == 0


def test_a_start_up_failure_closes_the_database_and_exits(tmp_path: Path) -> None:
    config = write_config(tmp_path, free_port())
    assert run_cli(config, "assembly", "create", "barrio").returncode == 0
    with sqlite3.connect(database_of(tmp_path)) as plain:
        plain.execute("PRAGMA user_version = 99")  # as a newer release would leave it
    plain.close()
    # An open database would keep the process alive (its reader thread): the timeout would trip.
    for command in (("serve",), ("token", "list", "ana")):
        refused = one_line(run_cli(config, *command, timeout=30))
        assert "database schema 99 is newer than this release" in refused, command


def test_a_locked_database_is_waited_for_then_named(tmp_path: Path, hold_lock: HoldLock) -> None:
    config = write_config(tmp_path, free_port(), storage={"busy_timeout_seconds": 1})
    assert run_cli(config, "person", "create", "ana", stdin=PASSWORD).returncode == 0
    database = database_of(tmp_path)
    hold_lock(database, 30)
    started = time.monotonic()
    refused = one_line(run_cli(config, "token", "create", "ana"))
    assert refused == f"fedassembly: the database {database} is locked by another process; gave up after 1 s"
    assert time.monotonic() - started >= 1.0
    assert subprocess.run([sys.executable, "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1])"
                           ".execute('select count(*) from api_tokens').fetchone()[0])", str(database)],
                          capture_output=True, text=True).stdout == "0\n"


def test_a_lock_held_for_a_moment_is_waited_out(tmp_path: Path, hold_lock: HoldLock) -> None:
    config = write_config(tmp_path, free_port())  # the default: 10 s
    assert run_cli(config, "person", "create", "ana", stdin=PASSWORD).returncode == 0
    hold_lock(database_of(tmp_path), 1.5)  # as a close holds it for a second or two
    started = time.monotonic()
    done = run_cli(config, "token", "create", "ana")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("fa_") and done.stderr == ""
    assert time.monotonic() - started >= 1.0


def test_ctrl_c_works_while_waiting_for_the_lock(tmp_path: Path, hold_lock: HoldLock) -> None:
    config = write_config(tmp_path, free_port(), storage={"busy_timeout_seconds": 60})
    assert run_cli(config, "person", "create", "ana", stdin=PASSWORD).returncode == 0
    hold_lock(database_of(tmp_path), 60)
    waiting = subprocess.Popen([sys.executable, "-m", "fedassembly", "token", "create", "ana",
                                "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    time.sleep(2.5)  # started, opened the database, now waiting for the lock
    assert waiting.poll() is None
    interrupted = time.monotonic()
    waiting.send_signal(signal.SIGINT)
    out, err = waiting.communicate(timeout=10)
    assert time.monotonic() - interrupted < 3
    assert (waiting.returncode, out, err) == (130, "", "fedassembly: interrupted\n")


def test_commands_that_need_data_name_the_path_and_create_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path, free_port())
    database = database_of(tmp_path)
    for command in (("member", "add", "barrio", "ana"), ("token", "create", "ana"), ("token", "list", "ana"),
                    ("announce", "barrio", "hi"), ("block", "spam.example"), ("backup", str(tmp_path / "b"))):
        refused = one_line(run_cli(config, *command))
        assert refused.startswith(f"fedassembly: no database at {database}; check storage.path in {config}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["node.toml"]

    made = run_cli(config, "assembly", "create", "barrio")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().endswith("/groups/barrio")  # the result alone on stdout
    assert made.stderr == f"fedassembly: created the database {database}\n"
    again = run_cli(config, "person", "create", "ana", stdin=PASSWORD)
    assert again.returncode == 0 and again.stderr == ""


def test_unusable_storage_and_backup_paths_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    broken = write_config(tmp_path, free_port(), storage={"path": str(tmp_path / "a-file" / "db.sqlite3")})
    for command in (("assembly", "create", "barrio"), ("serve",)):
        refused = one_line(run_cli(broken, *command, timeout=30))
        assert refused == f"fedassembly: cannot create the database {tmp_path}/a-file/db.sqlite3: {NOT_A_DIR}"
    config = write_config(tmp_path, free_port())
    assert run_cli(config, "assembly", "create", "barrio").returncode == 0
    refused = one_line(run_cli(config, "backup", str(tmp_path / "a-file" / "backup.sqlite3")))
    assert refused == f"fedassembly: cannot write the backup {tmp_path}/a-file/backup.sqlite3: {NOT_A_DIR}"


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


async def test_files_holding_keys_or_tokens_are_private(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, port)
    assert run_cli(config, "assembly", "create", "barrio").returncode == 0
    database = database_of(tmp_path)
    assert (mode(tmp_path / "data"), mode(database)) == (0o700, 0o600)
    roster = tmp_path / "roster.csv"
    roster.write_text("name\nana\nben\n")
    tokens = tmp_path / "tokens.csv"
    done = run_cli(config, "member", "import", "barrio", str(roster), "--tokens", str(tokens))
    assert done.returncode == 0, done.stderr
    assert mode(tokens) == 0o600 and tokens.read_text().startswith("name,token\n")
    node = await start_serving(config, f"http://127.0.0.1:{port}", tmp_path / "node.log")
    try:
        for name in ("node.sqlite3-wal", "node.sqlite3-shm"):
            assert mode(database.with_name(name)) == 0o600, name
        backup = tmp_path / "backups" / "today.sqlite3"
        assert run_cli(config, "backup", str(backup)).returncode == 0
        assert (mode(backup.parent), mode(backup)) == (0o700, 0o600)
    finally:
        assert stop_serving(node) == 0


def test_an_open_folder_is_a_warning_not_a_chmod(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    config = write_config(tmp_path, free_port(), storage={"path": str(shared / "node.sqlite3")})
    done = run_cli(config, "assembly", "create", "barrio")
    assert done.returncode == 0, done.stderr
    [warning] = [line for line in done.stderr.splitlines() if "WARNING" in line]
    assert f"{shared} is writable by its group or by anyone (mode 777)" in warning
    assert mode(shared) == 0o777 and mode(shared / "node.sqlite3") == 0o600


async def test_restore_after_a_crash_puts_the_backup_back_without_the_old_wal(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = write_config(tmp_path, port)
    database = database_of(tmp_path)
    assert run_cli(config, "person", "create", "ana", stdin=PASSWORD).returncode == 0
    node = await start_serving(config, base, tmp_path / "node.log")
    backup = tmp_path / "backup.sqlite3"
    try:
        assert run_cli(config, "backup", str(backup)).returncode == 0
        assert run_cli(config, "person", "create", "ben", stdin=PASSWORD).returncode == 0
        refused = one_line(run_cli(config, "restore", str(backup)))
        in_use = "is open in another process (a running node?): stop it first"
        assert refused == f"fedassembly: {database} {in_use}"
    finally:
        os.kill(node.pid, signal.SIGKILL)  # the crash: ben's row lives only in the WAL
        node.wait(timeout=10)
    wal, shm = database.with_name("node.sqlite3-wal"), database.with_name("node.sqlite3-shm")
    assert wal.stat().st_size > 0 and shm.exists()

    done = run_cli(config, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"restored {database} from {backup}; start the node\n"
    assert not wal.exists() and not shm.exists() and mode(database) == 0o600
    node = await start_serving(config, base, tmp_path / "node.log")
    try:
        listed = run_cli(config, "token", "create", "ben")
        assert "no person named 'ben'" in one_line(listed)
        assert run_cli(config, "token", "create", "ana").returncode == 0
    finally:
        assert stop_serving(node) == 0
