"""python manage.py demo: the main job on the embedded default, with a summary."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from etl.errors import EtlError
from etl.excel_source import discover_games
from etl.pipeline import EtlOptions, run_etl
from jobs.cli import ProgressBar


class Command(BaseCommand):
    help = "Run the full pipeline on the bundled sample league (generated first if missing) and print a summary."

    def add_arguments(self, parser):
        parser.add_argument("--data-dir", default=str(settings.HOCKEYOPS_DATA_DIR))
        parser.add_argument("--output-dir", default=str(settings.HOCKEYOPS_OUTPUT_DIR))

    def handle(self, *args, **opts):
        data_dir = Path(opts["data_dir"])
        if not data_dir.exists() or not discover_games(data_dir):
            from etl.sample_league import generate_league

            self.stdout.write(f"Generating the sample league in {data_dir} ...")
            generate_league(data_dir, games=6, seed=7)
        try:
            result = run_etl(EtlOptions(data_dir=str(data_dir), output_dir=opts["output_dir"]),
                             reporter=ProgressBar(self.stderr._out))
        except EtlError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(result.summary())
        self.stdout.write(f"Outputs: {opts['output_dir']}")
        tables = result.manifest["tables"]
        width = max(len(n) for n in tables)
        for name in sorted(tables):
            self.stdout.write(f"  {name:<{width}}  {tables[name]['rows']:>8,} rows")
        self.stdout.write(self._goal_check(Path(opts["output_dir"])))

    @staticmethod
    def _goal_check(output_dir: Path) -> str:
        import csv

        path = output_dir / "qa_goal_verification.csv"
        if not path.exists():
            return ""
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        ok = sum(1 for r in rows if r["match"] == "true")
        return f"Goal verification: {ok}/{len(rows)} team-games match the official score."
