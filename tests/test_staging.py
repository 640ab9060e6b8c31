"""Staging source: workbooks staged in PostgreSQL give exactly the frames, and so the outputs, of the Excel source."""
from __future__ import annotations

import json
import math
import shutil
from datetime import datetime, time, timedelta
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from django.core.management import call_command

from etl import staging
from etl.errors import EtlError
from etl.excel_source import XY
from etl.pipeline import EtlOptions, run_etl
from etl.sources import ExcelSource, open_source
from etl.staging import GAME_ROWS, WORKBOOKS, StagingSource, decode_cell, encode_cell, stage_inputs
from tests.conftest import drop_database, new_database, tracked_games

TARGET = "stagetest"


@pytest.fixture()
def db(pg_admin: str):  # noqa: F811
    url = new_database(pg_admin, "stage_t")
    try:
        yield url
    finally:
        drop_database(pg_admin, url)


def tables_checksums(out: Path) -> dict[str, str]:
    return {name: info["sha256"] for name, info in json.loads((out / "manifest.json").read_text())["tables"].items()}


def assert_same_outputs(data_dir: Path, url: str, tmp: Path, excel_out: Path | None = None) -> dict:
    if excel_out is None:
        excel_out = tmp / "excel"
        run_etl(EtlOptions(data_dir=str(data_dir), output_dir=str(excel_out)))
    staged_out = tmp / "staged"
    run_etl(EtlOptions(data_dir="/nonexistent", output_dir=str(staged_out), source="staging", staging_url=url))
    excel, staged = (json.loads((p / "manifest.json").read_text()) for p in (excel_out, staged_out))
    assert tables_checksums(excel_out) == tables_checksums(staged_out)
    assert excel["games"] == staged["games"] and excel["master"] == staged["master"]
    assert staged["source"] == "staging"
    return staged


def test_staged_frames_and_outputs_equal_the_excel_source(db: str, league: Path, tmp_path: Path) -> None:
    broken = league / "games" / "30099"
    broken.mkdir()
    (broken / "30099_tracking.xlsx").write_bytes(b"this is not a workbook")
    result = stage_inputs(db, league, target_name=TARGET)
    assert result.master == "staged" and 30099 in result.unreadable
    assert result.staged == [int(g) for g in tracked_games(league)]
    excel, source = ExcelSource(league), StagingSource(db)
    assert source.master() == excel.master()
    assert source.folders_without_workbook() == excel.folders_without_workbook() != {}
    assert source.games() == {gid: type(g)(gid, Path(g.relpath), g.relpath, g.note) for gid, g in excel.games().items()}
    for gid, game in excel.games().items():
        assert source.game_hash(game) == excel.game_hash(game)
        if gid == 30099:
            with pytest.raises(EtlError) as from_excel:
                excel.read_game(game)
            with pytest.raises(EtlError) as from_stage:
                source.read_game(game)
            assert str(from_stage.value) == str(from_excel.value)
            continue
        want, got = excel.read_game(game), source.read_game(game)
        for sheet in want:
            if sheet == XY:  # the location exports: {kind: [frame per file]}
                assert got[XY].keys() == want[XY].keys()
                for kind, frames in want[XY].items():
                    for mine, theirs in zip(got[XY][kind], frames, strict=True):
                        pd.testing.assert_frame_equal(mine, theirs, check_exact=True)
                continue
            pd.testing.assert_frame_equal(got[sheet], want[sheet], check_exact=True)
    (want, want_issues), (got, got_issues) = excel.read_master(), source.read_master()
    assert got_issues == want_issues
    for sheet in want:
        pd.testing.assert_frame_equal(got[sheet], want[sheet], check_exact=True)
    staged = assert_same_outputs(league, db, tmp_path)
    assert staged["games"]["30099"]["status"] == "INVALID"


@pytest.mark.real
def test_real_games_give_identical_outputs(db: str, real_dir: Path, real_outputs: Path, tmp_path: Path) -> None:
    stage_inputs(db, real_dir, target_name=TARGET)
    assert_same_outputs(real_dir, db, tmp_path, excel_out=real_outputs)


def _staged(url: str) -> dict[str, tuple]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"SELECT workbook, sha256, staged_at FROM {WORKBOOKS}").fetchall()
        # rows of the workbooks' sheets (not of the video and location files staged beside them)
        counts = dict(conn.execute(f"SELECT game_id, count(*) FROM {GAME_ROWS} WHERE sheet NOT LIKE 'xy:%%' "
                                   f"AND sheet <> 'video' GROUP BY game_id").fetchall())
    return {key: (sha, at, counts.get(int(key.split(":")[1])) if key.startswith("game:") else None)
            for key, sha, at in rows}


def test_restaging_replaces_only_changed_games_and_removes_vanished_ones(db: str, league: Path) -> None:
    stage_inputs(db, league, target_name=TARGET)
    first = _staged(db)
    again = stage_inputs(db, league, target_name=TARGET)
    assert again.master == "unchanged" and again.staged == [] and len(again.unchanged) == len(tracked_games(league))
    assert _staged(db) == first
    shutil.copyfile(league / "games" / "30002" / "30002_tracking.xlsx", league / "games" / "30001" /
                    "30001_tracking.xlsx")
    result = stage_inputs(db, league, games=["30001"], target_name=TARGET)
    assert result.staged == [30001]
    now = _staged(db)
    assert now["game:30001"][0] != first["game:30001"][0] and now["game:30001"][2] == first["game:30002"][2]
    assert {k: v for k, v in now.items() if k != "game:30001"} == {k: v for k, v in first.items() if k != "game:30001"}
    shutil.rmtree(league / "games" / "30006")
    result = stage_inputs(db, league, target_name=TARGET)
    assert result.removed == [30006] and "game:30006" not in _staged(db)
    assert 30006 not in StagingSource(db).games()
    with pytest.raises(EtlError, match="30077"):
        stage_inputs(db, league, games=["30077"], target_name=TARGET)


def test_a_game_is_replaced_atomically(db: str, league: Path, monkeypatch) -> None:
    stage_inputs(db, league, target_name=TARGET)
    before = _staged(db)
    calls = {"n": 0}
    real = staging.encode_cell

    def failing(value):
        calls["n"] += 1
        if calls["n"] > 5000:
            raise RuntimeError("injected failure while staging")
        return real(value)

    monkeypatch.setattr(staging, "encode_cell", failing)
    with pytest.raises(RuntimeError, match="injected"):
        stage_inputs(db, league, games=[30003], force=True, target_name=TARGET)
    assert _staged(db) == before


def test_cells_round_trip_through_jsonb(db: str) -> None:
    values = [None, "", "FA", "-", "007", "a\x00b", True, False, 0, -5, 2**62, 0.1 + 0.2, 1e-07, -2.5, 1.5e300,
              float("nan"), float("inf"), float("-inf"), datetime(2025, 1, 3, 19, 30, 5, 12), time(21, 15),
              timedelta(days=1, seconds=5, microseconds=7)]
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE cells (c jsonb)")
        conn.execute("INSERT INTO cells VALUES (%s::jsonb)", (json.dumps([encode_cell(v) for v in values],
                                                                          allow_nan=False),))
        back = [decode_cell(v) for v in conn.execute("SELECT c FROM cells").fetchone()[0]]
    for want, got in zip(values, back, strict=True):
        assert type(got) is type(want), (want, got)
        assert got == want or (isinstance(want, float) and math.isnan(want) and math.isnan(got))


def test_staging_source_needs_staged_inputs(db: str) -> None:
    with pytest.raises(EtlError, match="stage"):
        StagingSource(db).games()
    with pytest.raises(EtlError, match="target"):
        open_source("staging", "/nonexistent")
    assert isinstance(open_source("staging", "/nonexistent", db), StagingSource)


@pytest.mark.django_db
def test_stage_command(db: str, league: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv(f"HOCKEYOPS_TARGET_{TARGET.upper()}_URL", db)
    call_command("stage", "--target", TARGET, "--data-dir", str(league), "--json")
    result = json.loads(capsys.readouterr().out)
    assert result["master"] == "staged" and result["staged"] == [int(g) for g in tracked_games(league)]
    call_command("stage", "--target", TARGET, "--data-dir", str(league), "--games", "30002")
    assert "1 unchanged" in capsys.readouterr().out
