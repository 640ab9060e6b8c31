"""Admin forms: the Run ETL / Schema / Sync pages, the Job form, and the staging upload.

Each stage's request has one set of form fields (``STAGE_FIELDS``), used unprefixed on its stage page and
prefixed (``schema_``, ``sync_``) in the Job form; one parser (``request_from``) turns their cleaned values into
the stage's request (``jobs.requests``). Errors of the request or of the plan are shown next to the field they
are about. Business rules (permissions, saving a Job) live in ``jobs.services``.
"""
from __future__ import annotations

import re
from pathlib import Path

from django import forms
from django.conf import settings
from django.utils.html import escape

from etl.selection import split_terms
from jobs.models import STAGE_ORDER, Job, Stage
from jobs.requests import REQUESTS, RequestError
from jobs.services.catalog_choices import flat_values, game_choices, table_choices
from jobs.services.jobs import job_permission_errors
from jobs.services.plans import PlanError, build_plan
from jobs.services.targets import available_targets

Grouped = list[tuple[str, list[tuple[str, str]]]]
CONFIRM_LABEL = "I understand rows will be deleted"
JOB_PREFIXES = {"etl": "", "schema": "schema_", "sync": "sync_"}


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


def _text_field(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(required=False, label=label, widget=forms.TextInput(attrs={"class": "vTextField"}),
                           help_text=help_text)


def _table_fields() -> dict[str, forms.Field]:
    return {
        "tables": forms.MultipleChoiceField(
            required=False, widget=FilterableSelectMultiple("Filter tables…"), label="Tables",
            help_text="Tables, or a selection such as facts or tracking; empty means every table. "
                      "Ctrl/⌘-click selects several."),
        "table_patterns": _text_field(
            "Table patterns", "More tables as names or globs, separated by spaces or commas, e.g. fact_player*."),
        "exclude_tables": forms.MultipleChoiceField(
            required=False, widget=FilterableSelectMultiple("Filter tables…", size=6), label="Excluded tables",
            help_text="Tables to leave out."),
        "exclude_patterns": _text_field("Excluded patterns", "More exclusions as names or globs, e.g. qa_*."),
    }


def _games_field(label: str, help_text: str, size: int = 12) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(required=False, widget=FilterableSelectMultiple("Filter games…", size=size),
                                     label=label, help_text=help_text)


def _switch(label: str, help_text: str, initial: bool = False) -> forms.BooleanField:
    return forms.BooleanField(required=False, initial=initial, label=label, help_text=help_text)


def etl_fields() -> dict[str, forms.Field]:
    return {
        "games": _games_field("Games", "Games to rebuild; empty means every tracked game. Every other game of the "
                                       "published outputs is kept as it is."),
        "exclude_games": _games_field("Excluded games", "Games not to rebuild (they are kept as published).", 6),
        **_table_fields(),
        "source": forms.ChoiceField(choices=Job.Source.choices, initial=Job.Source.EXCEL, label="Source"),
        "mode": forms.ChoiceField(choices=Job.Mode.choices, initial=Job.Mode.FULL, label="Mode",
                                  help_text="Incremental rebuilds only the chosen games whose workbook changed."),
    }


def schema_fields() -> dict[str, forms.Field]:
    return {
        **_table_fields(),
        "pk": _switch("Primary keys", "Primary key constraints from the catalog.", True),
        "fk": _switch("Foreign keys", "Deferrable foreign keys between the selected tables (needs primary keys).",
                      True),
        "indexes": _switch("Indexes", "Indexes on game_id, player_id and team_id columns.", True),
        "comments": _switch("Comments", "Table and column comments from the catalog.", True),
        "rls": _switch("Row-level security", "Supabase row-level security with a read-only policy for the role "
                                             "below."),
        "rls_role": forms.CharField(required=False, max_length=63, initial="anon", label="RLS role",
                                    help_text="Role the read policy is for (created NOLOGIN when missing)."),
        "allow_destructive": _switch(
            "Allow destructive changes", "Drop columns and tables no longer in the catalog and narrow column types; "
                                         "rows are lost. Needs the permission “Can apply destructive schema changes”."),
        "confirm_destructive": _switch(CONFIRM_LABEL, "Required together with “Allow destructive changes”."),
    }


def sync_fields() -> dict[str, forms.Field]:
    return {
        **_table_fields(),
        "games": _games_field("Games", "Tracked games: game-scoped tables replace just these games' rows; other "
                                       "tables are loaded whole. Empty means whole tables.", 8),
        "per_table_commit": _switch("Commit each table separately",
                                    "Otherwise every table commits in one transaction (all or nothing)."),
        "verify": _switch("Verify", "Read the loaded rows back and compare counts and checksums.", True),
        "full_refresh": _switch(
            "Load every table whole", "Otherwise only what changed since the target's last sync is loaded (unchanged "
                                      "tables and games are left as they are)."),
        "allow_shrink": _switch(
            "Allow shrinking tables", "A sync that would remove a game's rows from the target, or shrink a table by "
                                      "more than the allowed share, is refused unless this is ticked. Preview lists "
                                      "such tables first."),
    }


STAGE_FIELDS = {"etl": etl_fields, "schema": schema_fields, "sync": sync_fields}
FORM_ONLY = {"table_patterns", "exclude_patterns", "confirm_destructive"}  # not request fields


def prefixed(stage: str, prefix: str = "") -> type[forms.Form]:
    """A form class with the stage's request fields named ``prefix + field``."""
    return type(f"{stage.title()}Fields", (forms.Form,),
                {prefix + name: field for name, field in STAGE_FIELDS[stage]().items()})


def setup_choices(form: forms.BaseForm, stage: str, prefix: str = "") -> None:
    """Fill table and game choices; stored values that are not choices (globs, removed games) stay editable."""
    fields, initial = form.fields, form.initial
    tables = table_choices(include_modes=True)
    for name in ("tables", "exclude_tables"):
        if prefix + name in fields:
            fields[prefix + name].choices = tables if name == "tables" else table_choices(include_modes=False)
    known = flat_values(tables)
    for name, patterns in (("tables", "table_patterns"), ("exclude_tables", "exclude_patterns")):
        stored = [str(v) for v in initial.get(prefix + name) or []]
        if prefix + name in fields and stored:
            initial[prefix + name] = [v for v in stored if v in known]
            initial[prefix + patterns] = " ".join(v for v in stored if v not in known)
    games = game_choices(str(settings.HOCKEYOPS_DATA_DIR))
    if stage == "sync":
        games = [group for group in games if group[0] == "Tracked games"]
    for name in ("games", "exclude_games"):
        if prefix + name in fields:
            stored = [str(g) for g in initial.get(prefix + name) or []]
            initial[prefix + name] = stored
            known_games = flat_values(games)
            extra = [(g, g) for g in stored if g not in known_games]
            fields[prefix + name].choices = [*games, ("Not in the schedule", extra)] if extra else games


def request_from(stage: str, data: dict, prefix: str = ""):
    """The stage's request from cleaned form values (RequestError naming the request field)."""
    values: dict = {}
    for name in STAGE_FIELDS[stage]():
        if name in FORM_ONLY or prefix + name not in data:
            continue
        values[name] = data[prefix + name]
    for name, patterns in (("tables", "table_patterns"), ("exclude_tables", "exclude_patterns")):
        if prefix + name in data:
            values[name] = [*(data.get(prefix + name) or []), *split_terms(data.get(prefix + patterns))]
    if "rls_role" in values:
        values["rls_role"] = values["rls_role"] or "anon"
    return REQUESTS[stage].from_dict(values)


def initial_from(stage: str, stored: dict | None, prefix: str = "") -> dict:
    """Form initial values (``prefix + field``) for a stored request."""
    request = REQUESTS[stage].from_dict(stored or {}) if stored is not None else REQUESTS[stage]()
    values = request.as_dict()
    return {prefix + name: values[name] for name in STAGE_FIELDS[stage]() if name in values}


def form_field(form: forms.BaseForm, request_field: str, prefix: str = "", target: str = "target") -> str | None:
    """The form field showing an error about ``request_field`` (None: the error is about the whole form)."""
    if request_field == "target":
        return target
    if request_field == "stages":
        return "stages" if "stages" in form.fields else None
    name = prefix + request_field
    return name if name in form.fields else None


def add_request_error(form: forms.BaseForm, exc: RequestError | PlanError, prefix: str = "",
                      target: str = "target") -> None:
    field = form_field(form, getattr(exc, "field", ""), prefix, target)
    form.add_error(field, getattr(exc, "message", None) or str(exc))


class StageForm(forms.Form):
    """The shell every stage page shares: the request fields, where to run, and Save as Job."""

    stage: str = ""
    target = forms.ChoiceField(help_text="Where the run writes. Credentials come from the environment.")
    collision = forms.ChoiceField(choices=Job.Collision.choices, initial=Job.Collision.QUEUE,
                                  label="If the target is busy",
                                  help_text="What the run does when another run holds the same target.")
    job_name = forms.CharField(required=False, max_length=100, label="Job name",
                               help_text="For Save as Job: an existing Job of that name is updated.")
    fieldsets: list[tuple[str, list[str]]] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = target_choices()
        setup_choices(self, self.stage)
        self.plan: dict | None = None
        self.request = None

    def grouped(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.fieldsets]

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        try:
            self.request = request_from(self.stage, data)
            self.plan = build_plan([self.stage], target=data["target"], **{self.stage: self.request})
        except (RequestError, PlanError) as exc:
            add_request_error(self, exc)
        return data

    def job_fields(self) -> dict:
        """The Job fields Save as Job writes: this stage alone, its request, target and collision policy."""
        fields: dict = {"stages": [self.stage], "target_name": self.cleaned_data["target"],
                        "collision": self.cleaned_data["collision"]}
        values = self.request.as_dict()
        if self.stage == "etl":
            fields.update({k: values[k] for k in ("games", "exclude_games", "tables", "exclude_tables", "source",
                                                  "mode")})
        else:
            fields[f"{self.stage}_options"] = values
        return fields


SAVE_AS_JOB = ("Save as Job", ["job_name"])


class EtlRunForm(prefixed("etl"), StageForm):
    """Run ETL: games, tables, source, mode, target, collision policy; plus a name for Save as Job."""

    stage = Stage.ETL
    fieldsets = [
        ("Games", ["games", "exclude_games"]),
        ("Tables", ["tables", "table_patterns", "exclude_tables", "exclude_patterns"]),
        ("Options", ["source", "mode", "target", "collision"]),
        SAVE_AS_JOB,
    ]


class SchemaForm(prefixed("schema"), StageForm):
    """Schema page: table selection, content switches, target, collision policy, destructive opt-in."""

    stage = Stage.SCHEMA
    destructive_title = "Destructive changes (Apply only)"
    fieldsets = [
        ("Tables", ["tables", "table_patterns", "exclude_tables", "exclude_patterns"]),
        ("Content", ["pk", "fk", "indexes", "comments", "rls", "rls_role"]),
        ("Target", ["target", "collision"]),
        (destructive_title, ["allow_destructive", "confirm_destructive"]),
        SAVE_AS_JOB,
    ]


class SyncForm(prefixed("sync"), StageForm):
    """Sync page: which published tables and games to load, commit, verify and shrink options."""

    stage = Stage.SYNC
    fieldsets = [
        ("Tables", ["tables", "table_patterns", "exclude_tables", "exclude_patterns"]),
        ("Games", ["games"]),
        ("Options", ["per_table_commit", "verify", "full_refresh", "allow_shrink", "target", "collision"]),
        SAVE_AS_JOB,
    ]


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


JOB_SCHEMA_FIELDS = [JOB_PREFIXES["schema"] + name for name in schema_fields()]
JOB_SYNC_FIELDS = [JOB_PREFIXES["sync"] + name for name in sync_fields()]
JOB_ETL_FIELDS = list(etl_fields())


class JobForm(prefixed("etl"), prefixed("schema", "schema_"), prefixed("sync", "sync_"), forms.ModelForm):
    """A Job: its stages and, per stage, the same request fields as the stage pages; the plan is checked before
    saving. The schema and sync requests are stored in ``schema_options`` / ``sync_options`` (when that stage is
    selected). ``user`` (set by the admin) is checked for the permissions the stages need."""

    user = None
    stages = forms.MultipleChoiceField(choices=Stage.choices, widget=forms.CheckboxSelectMultiple,
                                       help_text=Job._meta.get_field("stages").help_text)
    # the admin shows help texts as HTML: <NAME> must be escaped to be seen
    target_name = forms.ChoiceField(label="Target", help_text=escape(Job._meta.get_field("target_name").help_text))

    class Meta:
        model = Job
        fields = ["name", "description", "enabled", "stages", "games", "exclude_games", "tables",
                  "exclude_tables", "source", "mode", "target_name", "collision", "replan", "schedule"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target_name"].choices = target_choices(self.initial.get("target_name", ""))
        job = self.instance
        if not job.pk:
            self.initial["stages"] = self.initial.get("stages") or [Stage.ETL.value]
        for stage, stored in (("schema", job.schema_options), ("sync", job.sync_options)):
            try:
                self.initial.update(initial_from(stage, stored, JOB_PREFIXES[stage]))
            except RequestError:
                pass  # shown as an error when saved
        for stage, prefix in JOB_PREFIXES.items():
            setup_choices(self, stage, prefix)
        self.plan: dict | None = None

    def clean_schedule(self) -> str:
        return " ".join(self.cleaned_data.get("schedule", "").split())

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        data["stages"] = [s.value for s in STAGE_ORDER if s.value in set(data["stages"])]
        requests = {}
        for stage, prefix in JOB_PREFIXES.items():
            try:
                requests[stage] = request_from(stage, data, prefix)
            except RequestError as exc:
                if stage in data["stages"] or stage == "etl":
                    add_request_error(self, exc, prefix, "target_name")
        if self.errors:
            return data
        job = self.instance
        etl = requests["etl"].as_dict()
        for name in ("games", "exclude_games", "tables", "exclude_tables", "source", "mode"):
            data[name] = etl[name]
        schema = requests["schema"].as_dict() if "schema" in data["stages"] else job.schema_options
        sync = requests["sync"].as_dict() if "sync" in data["stages"] else job.sync_options
        for field, message in job_permission_errors(self.user, job, data["stages"], data["target_name"], schema,
                                                    bool(data.get("schema_confirm_destructive"))):
            self.add_error(field, message)
        if self.errors:
            return data
        try:
            self.plan = build_plan(data["stages"], target=data["target_name"], replan=data.get("replan", False),
                                   etl=requests["etl"], schema=schema if "schema" in data["stages"] else None,
                                   sync=sync if "sync" in data["stages"] else None)
        except PlanError as exc:
            add_request_error(self, exc, JOB_PREFIXES.get(exc.stage, ""), "target_name")
            return data
        job.schema_options, job.sync_options = schema or {}, sync or {}  # not form fields: the prefixed ones edit them
        return data
