"""Admin forms: the Run ETL / Schema / Sync pages and the Job edit form, plus the Job audit helpers."""
from __future__ import annotations

import re
from pathlib import Path

from django import forms
from django.conf import settings

from etl.selection import MODES
from jobs.models import STAGE_ORDER, Job, JobChange, Stage
from jobs.services.catalog_choices import flat_values, game_choices, table_choices
from jobs.services.plans import PlanError, build_plan
from jobs.services.schedules import parse_cron
from jobs.services.targets import available_targets

Grouped = list[tuple[str, list[tuple[str, str]]]]


class FilterableSelectMultiple(forms.SelectMultiple):
    """A multi-select with a search box above it (jobs/select_filter.js)."""

    class Media:
        css = {"all": ["jobs/admin.css"]}
        js = ["jobs/select_filter.js"]

    def __init__(self, placeholder: str = "Filter…", size: int = 12) -> None:
        super().__init__(attrs={"data-filter": placeholder, "size": size, "class": "ho-select"})


def target_choices(current: str = "") -> list[tuple[str, str]]:
    targets = available_targets()
    choices = [(name, f"{name} ({info.declared_by}: {info.description})") for name, info in targets.items()]
    if current and current not in targets:
        choices.append((current, f"{current} (not found)"))
    return choices


def _with_values(grouped: Grouped, values: list[str], label: str) -> Grouped:
    """Add stored values missing from the choices (a removed game, a glob) so editing keeps them."""
    known = flat_values(grouped)
    extra = [(v, v) for v in values if v not in known]
    return [*grouped, (label, extra)] if extra else grouped


def _terms(text: str | None) -> list[str]:
    return (text or "").replace(",", " ").split()


def _split_known(values: list, known: set[str]) -> tuple[list[str], list[str]]:
    values = [str(v) for v in values or []]
    return [v for v in values if v in known], [v for v in values if v not in known]


class SelectionFields(forms.Form):
    """Game and table selection shared by the Run ETL page and the Job form."""

    games = forms.MultipleChoiceField(
        required=False, widget=FilterableSelectMultiple("Filter games…"),
        help_text="Games of the master schedule; empty means every tracked game. Ctrl/⌘-click selects several.")
    exclude_games = forms.MultipleChoiceField(
        required=False, widget=FilterableSelectMultiple("Filter games…", size=6),
        help_text="Games to leave out.")
    tables = forms.MultipleChoiceField(
        required=False, widget=FilterableSelectMultiple("Filter tables…"),
        help_text="Tables to write, or a selection such as facts or tracking; empty means all. "
                  "The tables they are built from are built too, but only these are written.")
    table_patterns = forms.CharField(
        required=False, label="Table patterns", widget=forms.TextInput(attrs={"class": "vTextField"}),
        help_text="More tables as names or globs, separated by spaces or commas, e.g. fact_player*.")
    exclude_tables = forms.MultipleChoiceField(
        required=False, widget=FilterableSelectMultiple("Filter tables…", size=6),
        help_text="Tables not to write.")
    exclude_patterns = forms.CharField(required=False, label="Excluded patterns",
                                       widget=forms.TextInput(attrs={"class": "vTextField"}),
                                       help_text="More exclusions as names or globs, e.g. qa_*.")

    def setup_choices(self, data_dir: str) -> None:
        games, tables = game_choices(data_dir), table_choices()
        initial = self.initial
        for name in ("games", "exclude_games"):
            self.fields[name].choices = _with_values(games, [str(g) for g in initial.get(name) or []],
                                                     "Not in the schedule")
        self.fields["tables"].choices = tables
        self.fields["exclude_tables"].choices = tables
        known = flat_values(tables)
        for name, patterns in (("tables", "table_patterns"), ("exclude_tables", "exclude_patterns")):
            chosen, other = _split_known(initial.get(name), known)
            initial[name], initial[patterns] = chosen, " ".join(other)

    def selection(self) -> dict:
        """Cleaned games/tables in the shape Job and build_plan take."""
        data = self.cleaned_data
        return {
            "games": [int(g) for g in data.get("games") or []],
            "exclude_games": [int(g) for g in data.get("exclude_games") or []],
            "tables": list(data.get("tables") or []) + _terms(data.get("table_patterns")),
            "exclude_tables": list(data.get("exclude_tables") or []) + _terms(data.get("exclude_patterns")),
        }


class StageForm(forms.Form):
    """The shell every stage page shares: where to run and what to do when the target is busy."""

    stage: str = ""
    target = forms.ChoiceField(help_text="Where the run writes. Credentials come from the environment.")
    collision = forms.ChoiceField(choices=Job.Collision.choices, initial=Job.Collision.QUEUE,
                                  label="If the target is busy",
                                  help_text="What the run does when another run holds the same target.")
    fieldsets: list[tuple[str, list[str]]] = [("Target", ["target", "collision"])]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = target_choices()
        self.plan: dict | None = None

    def grouped(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.fieldsets]

    def stage_options(self) -> dict:
        return {}

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors:
            try:
                self.plan = build_plan([self.stage], target=data["target"], **self.stage_options())
            except PlanError as exc:
                raise forms.ValidationError(str(exc)) from None
        return data


class EtlRunForm(SelectionFields, StageForm):
    """Run ETL: games, tables, source, mode, target, collision policy; plus a name for Save as Job."""

    stage = Stage.ETL
    source = forms.ChoiceField(choices=Job.Source.choices, initial=Job.Source.EXCEL)
    mode = forms.ChoiceField(choices=Job.Mode.choices, initial=Job.Mode.FULL,
                             help_text="Incremental rebuilds only games whose workbook changed.")
    job_name = forms.CharField(required=False, max_length=100, label="Job name",
                               help_text="For Save as Job: an existing Job of that name is updated.")
    fieldsets = [
        ("Games", ["games", "exclude_games"]),
        ("Tables", ["tables", "table_patterns", "exclude_tables", "exclude_patterns"]),
        ("Options", ["source", "mode", "target", "collision"]),
        ("Save as Job", ["job_name"]),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.setup_choices(str(settings.HOCKEYOPS_DATA_DIR))

    def etl_options(self) -> dict:
        return {**self.selection(), "source": self.cleaned_data["source"], "mode": self.cleaned_data["mode"]}

    def stage_options(self) -> dict:
        return {"etl": self.etl_options()}

    def job_fields(self) -> dict:
        """The Job fields Save as Job writes."""
        return {"stages": [Stage.ETL.value], **self.etl_options(), "target_name": self.cleaned_data["target"],
                "collision": self.cleaned_data["collision"]}


# ---- schema options, shared by the Schema page (no prefix) and the Job form (prefix "schema_")

SCHEMA_SWITCHES = ("pk", "fk", "indexes", "comments", "rls")
SCHEMA_DEFAULTS = {"pk": True, "fk": True, "indexes": True, "comments": True, "rls": False, "rls_role": "anon"}
SCHEMA_SELECTION = ("modes", "tables", "patterns", "exclude", "exclude_patterns")
SCHEMA_CONTENT = (*SCHEMA_SWITCHES, "rls_role")
SCHEMA_DESTRUCTIVE = ("allow_destructive", "confirm_destructive")
DESTRUCTIVE_PERMISSION = "jobs.apply_destructive_schema"
CONFIRM_LABEL = "I understand rows will be deleted"


def schema_fields(prefix: str = "") -> type[forms.Form]:
    """A form mixin with the schema options as fields named ``prefix + option``."""
    tables = table_choices(include_modes=False)
    switch = {"pk": ("Primary keys", "Primary key constraints from the catalog."),
              "fk": ("Foreign keys", "Deferrable foreign keys between the selected tables (needs primary keys)."),
              "indexes": ("Indexes", "Indexes on game_id, player_id and team_id columns."),
              "comments": ("Comments", "Table and column comments from the catalog."),
              "rls": ("Row-level security", "Supabase row-level security with a read-only policy for the role "
                                            "below.")}
    fields: dict[str, forms.Field] = {
        "modes": forms.MultipleChoiceField(
            required=False, choices=[(m, f"{m} — {text}") for m, text in MODES.items()],
            widget=forms.CheckboxSelectMultiple, label="Modes",
            help_text="Tables by mode. Nothing ticked and no tables chosen means every table of the catalog."),
        "tables": forms.MultipleChoiceField(
            required=False, choices=tables, widget=FilterableSelectMultiple("Filter tables…"), label="Tables",
            help_text="Catalog tables. Ctrl/⌘-click selects several."),
        "patterns": forms.CharField(
            required=False, label="Table patterns", widget=forms.TextInput(attrs={"class": "vTextField"}),
            help_text="More tables as names or globs, separated by spaces or commas, e.g. fact_player*."),
        "exclude": forms.MultipleChoiceField(
            required=False, choices=tables, widget=FilterableSelectMultiple("Filter tables…", size=6),
            label="Excluded tables", help_text="Tables to leave out."),
        "exclude_patterns": forms.CharField(
            required=False, label="Excluded patterns", widget=forms.TextInput(attrs={"class": "vTextField"}),
            help_text="More exclusions as names or globs, e.g. qa_*."),
        **{name: forms.BooleanField(required=False, initial=SCHEMA_DEFAULTS[name], label=label, help_text=text)
           for name, (label, text) in switch.items()},
        "rls_role": forms.CharField(
            required=False, max_length=63, initial="anon", label="RLS role",
            help_text="Role the read policy is for (created NOLOGIN when missing)."),
        "allow_destructive": forms.BooleanField(
            required=False, label="Allow destructive changes",
            help_text="Drop columns and tables no longer in the catalog and narrow column types; rows are lost. "
                      "Needs the permission “Can apply destructive schema changes”."),
        "confirm_destructive": forms.BooleanField(
            required=False, label=CONFIRM_LABEL, help_text="Required together with “Allow destructive changes”."),
    }
    return type("SchemaFields", (forms.Form,), {prefix + name: field for name, field in fields.items()})


def schema_initial(options: dict | None, prefix: str = "") -> dict:
    """Form initial values for stored schema options (unknown tables go to the pattern fields)."""
    options = options or {}
    known = flat_values(table_choices(include_modes=False))
    tables, other = _split_known(options.get("tables"), known)
    exclude, exclude_other = _split_known(options.get("exclude"), known)
    values = {"modes": list(options.get("modes") or []), "tables": tables,
              "patterns": " ".join([*other, *(options.get("patterns") or [])]),
              "exclude": exclude, "exclude_patterns": " ".join(exclude_other),
              **{k: options.get(k, default) for k, default in SCHEMA_DEFAULTS.items()},
              "allow_destructive": bool(options.get("allow_destructive")), "confirm_destructive": False}
    return {prefix + k: v for k, v in values.items()}


def schema_requested(data: dict, prefix: str = "") -> dict:
    """The schema options (as build_plan takes and Job.schema_options stores) from cleaned form data."""
    def get(name):
        return data.get(prefix + name)

    return {"tables": list(get("tables") or []), "modes": list(get("modes") or []),
            "patterns": _terms(get("patterns")),
            "exclude": list(get("exclude") or []) + _terms(get("exclude_patterns")),
            **{name: bool(get(name)) for name in SCHEMA_SWITCHES},
            "rls_role": (get("rls_role") or "").strip() or "anon",
            "allow_destructive": bool(get("allow_destructive"))}


class SchemaForm(schema_fields(), StageForm):
    """Schema page: table selection, content switches, target, collision policy, destructive opt-in."""

    stage = Stage.SCHEMA
    destructive_title = "Destructive changes (Apply only)"
    fieldsets = [
        ("Tables", list(SCHEMA_SELECTION)),
        ("Content", list(SCHEMA_CONTENT)),
        ("Target", ["target", "collision"]),
        (destructive_title, list(SCHEMA_DESTRUCTIVE)),
    ]

    def schema_options(self) -> dict:
        return schema_requested(self.cleaned_data)

    def stage_options(self) -> dict:
        return {"schema": self.schema_options()}


class SyncForm(StageForm):
    """Sync page: which published tables (modes, tables, globs) and games to load, commit and verify options."""

    stage = Stage.SYNC
    modes = forms.MultipleChoiceField(
        required=False, choices=[(m, f"{m} — {text}") for m, text in MODES.items()],
        widget=forms.CheckboxSelectMultiple, label="Modes",
        help_text="Tables by mode. Nothing ticked and no tables chosen means every published table.")
    tables = forms.MultipleChoiceField(
        required=False, widget=FilterableSelectMultiple("Filter tables…"), label="Tables",
        help_text="Catalog tables. Ctrl/⌘-click selects several.")
    patterns = forms.CharField(
        required=False, label="Table patterns", widget=forms.TextInput(attrs={"class": "vTextField"}),
        help_text="More tables as names or globs, separated by spaces or commas, e.g. fact_player*.")
    exclude = forms.MultipleChoiceField(
        required=False, widget=FilterableSelectMultiple("Filter tables…", size=6), label="Excluded tables",
        help_text="Tables to leave out.")
    exclude_patterns = forms.CharField(
        required=False, label="Excluded patterns", widget=forms.TextInput(attrs={"class": "vTextField"}),
        help_text="More exclusions as names or globs, e.g. qa_*.")
    games = forms.MultipleChoiceField(
        required=False, widget=FilterableSelectMultiple("Filter games…", size=8), label="Games",
        help_text="Tracked games: only game-scoped tables replace just these games' rows; other tables are loaded "
                  "whole. Empty means all games.")
    per_table_commit = forms.BooleanField(
        required=False, label="Commit each table separately",
        help_text="Otherwise every table commits in one transaction (all or nothing).")
    verify = forms.BooleanField(required=False, initial=True, label="Verify",
                                help_text="Read the loaded rows back and compare counts and checksums.")
    fieldsets = [
        ("Tables", ["modes", "tables", "patterns", "exclude", "exclude_patterns"]),
        ("Games", ["games"]),
        ("Options", ["per_table_commit", "verify", "target", "collision"]),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        tables = table_choices(include_modes=False)
        self.fields["tables"].choices = tables
        self.fields["exclude"].choices = tables
        tracked = [group for group in game_choices(str(settings.HOCKEYOPS_DATA_DIR)) if group[0] == "Tracked games"]
        self.fields["games"].choices = tracked

    def sync_options(self) -> dict:
        """The sync options as build_plan and Job.sync_options take them."""
        data = self.cleaned_data
        return {"modes": list(data.get("modes") or []),
                "tables": list(data.get("tables") or []), "patterns": _terms(data.get("patterns")),
                "exclude": list(data.get("exclude") or []) + _terms(data.get("exclude_patterns")),
                "games": [int(g) for g in data.get("games") or []],
                "per_table_commit": bool(data.get("per_table_commit")), "verify": bool(data.get("verify"))}

    def stage_options(self) -> dict:
        return {"sync": self.sync_options()}


UPLOAD_GAME_NAME = re.compile(r"^(\d+)_tracking\.xlsx$", re.IGNORECASE)
UPLOAD_MASTER_NAME = "blb_tables.xlsx"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file input that accepts several files; cleans to a list."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".xlsx"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data] if data else []
        if not files and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        clean = super().clean
        return [clean(f, initial) for f in files]


class StageUploadForm(forms.Form):
    """Load workbooks into staging: the master and tracking workbooks, saved in the league layout, staged."""

    files = MultipleFileField(
        label="Workbooks",
        help_text="BLB_TABLES.xlsx (required: staging reads the master with every upload) and any number of "
                  "<game_id>_tracking.xlsx files, e.g. 30001_tracking.xlsx.")
    target = forms.ChoiceField(help_text="The target whose stage_* tables receive the workbooks.")
    fieldsets = [("Workbooks", ["files", "target"])]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = target_choices()

    def grouped(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.fieldsets]

    def clean_files(self) -> list:
        files = self.cleaned_data["files"]
        bad = [f.name for f in files if f.name.lower() != UPLOAD_MASTER_NAME and not UPLOAD_GAME_NAME.match(f.name)]
        if bad:
            raise forms.ValidationError(
                f"Not a league workbook name: {', '.join(bad)}. Upload BLB_TABLES.xlsx and files named "
                "<game_id>_tracking.xlsx (e.g. 30001_tracking.xlsx).")
        masters = [f for f in files if f.name.lower() == UPLOAD_MASTER_NAME]
        if not masters:
            raise forms.ValidationError(
                "Include the master workbook BLB_TABLES.xlsx: staging always reads the master together with the "
                "game workbooks (unchanged workbooks are skipped).")
        ids = [int(UPLOAD_GAME_NAME.match(f.name).group(1)) for f in files if f not in masters]
        duplicated = sorted({g for g in ids if ids.count(g) > 1})
        if len(masters) > 1 or duplicated:
            what = ", ".join(["BLB_TABLES.xlsx"] * (len(masters) > 1) + [f"game {g}" for g in duplicated])
            raise forms.ValidationError(f"Each workbook once, please: {what} was uploaded more than once.")
        return files

    def game_ids(self) -> list[int]:
        return sorted(int(m.group(1)) for f in self.cleaned_data["files"] if (m := UPLOAD_GAME_NAME.match(f.name)))

    def save_league(self, folder: Path) -> None:
        """Write the uploads in the league layout: BLB_TABLES.xlsx at the root, games/<id>/<id>_tracking.xlsx."""
        for upload in self.cleaned_data["files"]:
            match = UPLOAD_GAME_NAME.match(upload.name)
            if match:
                gid = int(match.group(1))
                path = folder / "games" / str(gid) / f"{gid}_tracking.xlsx"
            else:
                path = folder / "BLB_TABLES.xlsx"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)


JOB_SCHEMA_PREFIX = "schema_"
JOB_SCHEMA_FIELDS = [JOB_SCHEMA_PREFIX + name for name in (*SCHEMA_SELECTION, *SCHEMA_CONTENT, *SCHEMA_DESTRUCTIVE)]


class JobForm(SelectionFields, schema_fields(JOB_SCHEMA_PREFIX), forms.ModelForm):
    """A Job: stages and selection as lists to pick from; the plan is checked before saving.

    The schema options are edited as ``schema_*`` fields and stored in ``schema_options`` when the schema
    stage is selected. ``user`` (set by the admin) is checked for the schema permissions.
    """

    user = None
    stages = forms.MultipleChoiceField(choices=Stage.choices, widget=forms.CheckboxSelectMultiple,
                                       help_text=Job._meta.get_field("stages").help_text)
    target_name = forms.ChoiceField(label="Target", help_text=Job._meta.get_field("target_name").help_text)

    class Meta:
        model = Job
        fields = ["name", "description", "enabled", "stages", "games", "exclude_games", "tables",
                  "exclude_tables", "source", "mode", "target_name", "collision", "schedule", "sync_options"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target_name"].choices = target_choices(self.initial.get("target_name", ""))
        self.setup_choices(str(settings.HOCKEYOPS_DATA_DIR))
        if not self.instance.pk:
            self.initial["stages"] = self.initial.get("stages") or [Stage.ETL.value]
        for name in ("games", "exclude_games"):
            self.initial[name] = [str(g) for g in self.initial.get(name) or []]
            self.fields[name].help_text = Job._meta.get_field(name).help_text or self.fields[name].help_text
        self.initial.update(schema_initial(self.instance.schema_options, JOB_SCHEMA_PREFIX))

    def clean_schedule(self) -> str:
        value = " ".join(self.cleaned_data.get("schedule", "").split())
        if value:
            try:
                parse_cron(value)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from None
        return value

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        data.update(self.selection())
        data["stages"] = [s.value for s in STAGE_ORDER if s.value in set(data["stages"])]
        with_schema = Stage.SCHEMA.value in data["stages"]
        stored = self.instance.schema_options or {}
        schema = {**stored, **schema_requested(data, JOB_SCHEMA_PREFIX)} if with_schema else stored
        if with_schema:
            self._check_schema_permissions(data, schema)
        try:
            build_plan(data["stages"], etl={k: data[k] for k in ("games", "exclude_games", "tables",
                                                                 "exclude_tables", "source", "mode")},
                       target=data["target_name"], schema=schema, sync=data.get("sync_options"))
        except PlanError as exc:
            raise forms.ValidationError(str(exc)) from None
        data["schema_options"] = schema
        self.instance.schema_options = schema  # not a form field: the schema_* fields edit it
        return data

    def _check_schema_permissions(self, data: dict, schema: dict) -> None:
        """A new or changed schema request needs apply_schema; allowing destructive changes also needs
        apply_destructive_schema and the explicit confirmation."""
        old = self.instance
        unchanged = (old.pk and Stage.SCHEMA.value in (old.stages or []) and old.schema_options == schema
                     and old.target_name == data["target_name"])
        if unchanged or self.user is None:
            return
        if not self.user.has_perm("jobs.apply_schema"):
            raise forms.ValidationError("You need the permission “Can apply schema changes” to save a Job with "
                                        "this schema stage.")
        if not schema.get("allow_destructive"):
            return
        if not self.user.has_perm(DESTRUCTIVE_PERMISSION):
            self.add_error(JOB_SCHEMA_PREFIX + "allow_destructive",
                           "You need the permission “Can apply destructive schema changes” to allow them.")
        elif not data.get(JOB_SCHEMA_PREFIX + "confirm_destructive"):
            self.add_error(JOB_SCHEMA_PREFIX + "confirm_destructive",
                           f"Tick “{CONFIRM_LABEL}” to allow destructive changes.")


# ---- audit trail of Job edits

AUDITED = ("name", "description", "enabled", "stages", "games", "exclude_games", "tables", "exclude_tables",
           "source", "mode", "target_name", "collision", "schedule", "schema_options", "sync_options")


def snapshot(job: Job) -> dict:
    """The audited fields of a Job, as JSON-ready values."""
    return {name: getattr(job, name) for name in AUDITED}


def record_change(job: Job, user, before: dict | None, action: str | None = None) -> JobChange | None:
    """A JobChange with field: [old, new] for what differs; None when nothing changed."""
    after = snapshot(job)
    if action == "deleted":
        changes = {k: [v, None] for k, v in after.items()}
    elif before is None:
        action, changes = "created", {k: [None, v] for k, v in after.items()}
    else:
        action = "changed"
        changes = {k: [before[k], v] for k, v in after.items() if before[k] != v}
        if not changes:
            return None
    return JobChange.objects.create(job=None if action == "deleted" else job, job_name=job.name,
                                    user=user if getattr(user, "is_authenticated", False) else None,
                                    action=action, changes=changes)
