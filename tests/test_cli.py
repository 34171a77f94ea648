"""The commjobs command, run in-process: outputs, JSON shapes and one-line errors."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import pytest

from commjobs_tui.cli import main
from tests import fakeapi


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("commjobs")
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("commjobs ")


def test_config_show_sources_and_masking(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('model = "gpt-from-file"\nconcurrency = 3\n')
    monkeypatch.setenv("COMMJOBS_CONCURRENCY", "5")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value-1234")
    db = tmp_path / "flag.db"

    code, out, _ = run_cli(
        capsys, "--config", str(config), "--db", str(db), "config", "show"
    )

    assert code == 0
    rows = {
        line.split()[0]: line for line in out.splitlines() if line and line[0] != "#"
    }
    assert "gpt-from-file" in rows["model"]
    assert f"[file {config}]" in rows["model"]
    assert "5" in rows["concurrency"]
    assert "[env COMMJOBS_CONCURRENCY]" in rows["concurrency"]
    assert str(db) in rows["db"]
    assert "[flag]" in rows["db"]
    assert "sk-secret-value-1234" not in out
    assert "[env OPENAI_API_KEY]" in rows["openai_api_key"]


def test_config_path(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "config", "path")
    assert code == 0
    assert out.strip().endswith("config.toml")


def test_invalid_setting_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMJOBS_CONCURRENCY", "many")
    code, _, err = run_cli(capsys, "config", "show")
    assert code == 1
    assert_one_line_error(err, "concurrency", "COMMJOBS_CONCURRENCY")


def test_api_key_in_config_file_is_rejected(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('openai_api_key = "sk-abc"\n')
    code, _, err = run_cli(capsys, "--config", str(config), "config", "show")
    assert code == 1
    assert_one_line_error(err, "OPENAI_API_KEY")
    assert "sk-abc" not in err


def test_db_current_on_missing_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run_cli(capsys, "--db", str(tmp_path / "none.db"), "db", "current")
    assert code == 1
    assert_one_line_error(err, "does not exist", "db upgrade")


def test_db_upgrade_then_current(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "new.db"
    code, out, _ = run_cli(capsys, "db", "upgrade", "--db", str(db))
    assert code == 0
    assert "upgraded from empty" in out
    code, out, _ = run_cli(capsys, "db", "current", "--db", str(db))
    assert code == 0
    assert "up to date" in out
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


@pytest.mark.parametrize("name", ["missing.csv", "folder"])
def test_import_unreadable_file_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    (tmp_path / "folder").mkdir()
    code, _, err = run_cli(
        capsys, "--db", str(tmp_path / "x.db"), "donors", "import", str(tmp_path / name)
    )
    assert code == 1
    assert_one_line_error(err, name)


def test_import_sample_twice_changes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, npsp_sample: Path
) -> None:
    db = str(tmp_path / "x.db")
    code, first, _ = run_cli(capsys, "--db", db, "donors", "import", str(npsp_sample))
    assert code == 0
    code, listed, _ = run_cli(capsys, "--db", db, "donors", "list", "--json")
    donors_after_first = json.loads(listed)
    code, second, _ = run_cli(capsys, "--db", db, "donors", "import", str(npsp_sample))
    assert code == 0
    code, listed, _ = run_cli(capsys, "--db", db, "donors", "list", "--json")

    assert json.loads(listed) == donors_after_first
    assert len(donors_after_first) > 100
    assert "Salesforce NPSP" in first
    assert "Salesforce NPSP" in second


def test_job_lifecycle_offline(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, npsp_sample: Path
) -> None:
    db = str(tmp_path / "x.db")
    run_cli(capsys, "--db", db, "donors", "import", str(npsp_sample))
    code, out, err = run_cli(
        capsys,
        "--db",
        db,
        "jobs",
        "create",
        "--name",
        "Spring thank-you",
        "--instructions",
        "Thank each donor for their most recent gift",
        "--donors",
        "all",
        "--run",
    )
    assert code == 0, err
    assert "completed" in out

    code, out, _ = run_cli(capsys, "--db", db, "jobs", "list", "--json")
    jobs = json.loads(out)
    assert len(jobs) == 1
    job = jobs[0]
    expected = {
        "id",
        "name",
        "status",
        "total",
        "completed",
        "failed",
        "pending",
        "skipped",
        "provider",
        "model",
        "created_at",
        "finished_at",
        "error",
    }
    for key in expected:
        assert key in job
    assert job["status"] == "completed"
    assert job["provider"] == "offline"
    assert job["completed"] == job["total"] > 0
    assert job["skipped"] > 0

    out_file = tmp_path / "out.csv"
    code, out, _ = run_cli(
        capsys,
        "--db",
        db,
        "jobs",
        "export",
        str(job["id"]),
        "--format",
        "csv",
        "--out",
        str(out_file),
    )
    assert code == 0
    with out_file.open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    assert len(records) == job["completed"]
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600

    code, _, err = run_cli(capsys, "--db", db, "jobs", "delete", str(job["id"]))
    assert code == 1
    assert_one_line_error(err, "--yes")
    code, out, _ = run_cli(
        capsys, "--db", db, "jobs", "delete", str(job["id"]), "--yes"
    )
    assert code == 0
    code, out, _ = run_cli(capsys, "--db", db, "jobs", "list", "--json")
    assert json.loads(out) == []


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["jobs", "show", "999"], ["999", "jobs list"]),
        (["jobs", "run", "999"], ["999"]),
        (
            ["jobs", "create", "--name", "x", "--instructions", "y", "--donors", "1,x"],
            ["'x'", "--donors"],
        ),
        (
            ["jobs", "create", "--name", "  ", "--instructions", "y"],
            ["job name is empty"],
        ),
        (
            [
                "jobs",
                "create",
                "--name",
                "x",
                "--instructions-file",
                "/nonexistent/i.txt",
            ],
            ["/nonexistent/i.txt", "not found"],
        ),
        (["jobs", "create", "--name", "x", "--instructions", "y"], ["no donors"]),
    ],
)
def test_job_errors_are_one_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    argv: list[str],
    words: list[str],
) -> None:
    code, _, err = run_cli(capsys, "--db", str(tmp_path / "x.db"), *argv)
    assert code == 1
    assert_one_line_error(err, *words)


def test_openai_run_survives_429_and_500(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    npsp_sample: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = str(tmp_path / "x.db")
    run_cli(capsys, "--db", db, "donors", "import", str(npsp_sample))
    with fakeapi.FakeChatServer(
        rate_429=0.15, rate_500=0.15, retry_after=0.05, seed=3
    ) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
        monkeypatch.setenv("COMMJOBS_MAX_ATTEMPTS", "8")
        code, out, err = run_cli(
            capsys,
            "--db",
            db,
            "jobs",
            "create",
            "--name",
            "Spring thank-you",
            "--instructions",
            "Thank each donor for their most recent gift",
            "--provider",
            "openai",
            "--run",
        )
        behaviours = [r.behaviour for r in server.chat_requests]
    assert code == 0, out + err
    code, out, _ = run_cli(capsys, "--db", db, "jobs", "list", "--json")
    job = json.loads(out)[0]
    assert job["status"] == "completed"
    assert job["failed"] == 0
    assert "rate_limited" in behaviours
    assert "server_error" in behaviours


def test_other_programs_database_is_rejected(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import sqlite3

    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    for argv in (["db", "current"], ["db", "upgrade"], ["donors", "list"]):
        code, _, err = run_cli(capsys, "--db", str(other), *argv)
        assert code == 1
        assert_one_line_error(err, "another program")
    assert other.read_bytes() == before


@pytest.mark.parametrize(
    ("setup", "argv", "words"),
    [
        ("", ["--db", "", "donors", "list"], ["--db is empty"]),
        ("", ["--config", "/nonexistent/c.toml", "config", "show"], ["not found"]),
        ("bogus = 1\n", ["config", "show"], ["unknown setting 'bogus'"]),
        (b"model = '\xff'\n", ["config", "show"], ["not UTF-8"]),
        ("", ["db", "current", "--db", "{tmp}"], ["is a folder"]),
    ],
)
def test_setting_and_path_errors_are_one_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    setup: str | bytes,
    argv: list[str],
    words: list[str],
) -> None:
    config = tmp_path / "config.toml"
    if setup:
        if isinstance(setup, bytes):
            config.write_bytes(setup)
        else:
            config.write_text(setup)
        argv = ["--config", str(config), *argv]
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = run_cli(capsys, *argv)
    assert code == 1
    assert_one_line_error(err, *words)


def test_structured_env_setting_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMJOBS_PRICES", "xyz")
    code, _, err = run_cli(capsys, "config", "show")
    assert code == 1
    assert_one_line_error(err, "invalid setting")


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({}, ["OPENAI_API_KEY is not set"]),
        ({"OPENAI_BASE_URL": "http://127.0.0.1:99999/v1"}, ["invalid base URL"]),
        ({"OPENAI_BASE_URL": "not a url"}, ["invalid base URL"]),
    ],
)
def test_openai_setup_checked_before_job_is_created(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    words: list[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    db = str(tmp_path / "x.db")
    argv = ["jobs", "create", "--name", "x", "--instructions", "y"]
    code, _, err = run_cli(capsys, "--db", db, *argv, "--provider", "openai")
    assert code == 1
    assert_one_line_error(err, *words)
    code, out, _ = run_cli(capsys, "--db", db, "jobs", "list", "--json")
    assert json.loads(out) == []


def test_base_url_without_key_selects_openai(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    code, out, _ = run_cli(capsys, "config", "show")
    assert code == 0
    effective = next(line for line in out.splitlines() if "(effective)" in line)
    assert "openai" in effective


def test_configured_prices_add_to_defaults(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[prices."my-model"]\ninput_per_million = 1.0\noutput_per_million = 2.0\n'
    )
    code, out, _ = run_cli(capsys, "--config", str(config), "config", "show")
    assert code == 0
    prices = next(line for line in out.splitlines() if line.startswith("prices"))
    assert "my-model=1.0/2.0" in prices
    assert "gpt-4.1-mini=" in prices


def test_global_flags_override_env(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMJOBS_MODEL", "from-env")
    code, out, _ = run_cli(
        capsys, "--provider", "offline", "--model", "m2", "config", "show"
    )
    assert code == 0
    rows = {
        line.split()[0]: line for line in out.splitlines() if line and line[0] != "#"
    }
    assert "m2" in rows["model"]
    assert "[flag]" in rows["model"]
    assert "offline" in rows["provider"]
