"""python manage.py sample_league: write the deterministic synthetic league (see samples.league)."""
from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from jobs.management.base import HockeyopsCommand
from samples.league import generate_league


def _plain(text: str) -> str:
    return text


class Command(HockeyopsCommand):
    help = (
        "Generate a synthetic league (BLB_TABLES.xlsx + games/<id>/<id>_tracking.xlsx) in the real "
        "workbook layout. Same --games/--seed always gives the same files."
    )

    def add_arguments(self, parser):
        parser.add_argument("--games", type=int, default=6, help="played games to generate (default 6)")
        parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
        parser.add_argument(
            "--out",
            default=str(getattr(settings, "HOCKEYOPS_DATA_DIR", Path("data") / "sample_league")),
            help="output folder (default: HOCKEYOPS_DATA_DIR)",
        )

    def handle(self, *args, **opts):
        games, seed, out = opts["games"], opts["seed"], Path(opts["out"])
        if games < 0:
            raise CommandError("--games must be 0 or more")
        err = self.stderr
        tty = err.isatty()
        step = max(1, games // 10)
        width = 30

        def progress(done: int, total: int) -> None:
            if tty:
                filled = width * done // max(total, 1)
                err.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} games",
                          style_func=_plain, ending="")
                if done == total:
                    err.write("", style_func=_plain)
            elif done % step == 0 or done == total:
                err.write(f"  {done}/{total} games", style_func=_plain)
            err.flush()

        started = time.perf_counter()
        try:
            summary = generate_league(out, games=games, seed=seed, progress=progress)
        except OSError as exc:
            raise CommandError(f"cannot write to {out}: {exc}") from None
        elapsed = time.perf_counter() - started
        played = summary["games"]
        goals = sum(g["home_goals"] + g["away_goals"] for g in played)
        per_game = f", {1000 * elapsed / len(played):.0f} ms/game" if played else ""
        self.stdout.write(
            f"sample_league: {len(played)} games (+{len(summary['future_games'])} unplayed), "
            f"{len(summary['teams'])} teams, {summary['players']} players, {goals} goals, seed {seed} "
            f"-> {out} in {elapsed:.1f}s{per_game}"
        )
