"""The base of hockeyops' management commands: output and errors without secrets, sentences not tracebacks."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from jobs.services.redact import redact


class RedactingOutput(OutputWrapper):
    """An OutputWrapper that masks every known secret before writing."""

    def write(self, msg="", style_func=None, ending=None):
        super().write(redact(str(msg)), style_func, ending)


class HockeyopsCommand(BaseCommand):
    """Every hockeyops command: secrets never printed; an unexpected error is a sentence (``--traceback`` shows
    the traceback)."""

    def execute(self, *args, **options):
        out, err = options.pop("stdout", None), options.pop("stderr", None)
        style = self.stderr.style_func
        self.stdout = RedactingOutput(out or self.stdout._out)
        self.stderr = RedactingOutput(err or self.stderr._out)
        self.stderr.style_func = style
        try:
            return super().execute(*args, **options)
        except CommandError as exc:
            raise CommandError(redact(str(exc)), returncode=exc.returncode) from None
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            if options.get("traceback"):
                raise
            raise CommandError(redact(f"Unexpected error ({type(exc).__name__}: {exc}). Run the command again with "
                                      "--traceback for the details, and report them.")) from None
