"""Admin forms: the Run ETL / Schema / Sync pages and the Job edit form, plus the Job audit helpers."""
from __future__ import annotations

from django import forms
from django.conf import settings

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


class SchemaForm(StageForm):
    stage = Stage.SCHEMA


class SyncForm(StageForm):
    stage = Stage.SYNC


class JobForm(SelectionFields, forms.ModelForm):
    """A Job: stages and selection as lists to pick from; the plan is checked before saving."""

    stages = forms.MultipleChoiceField(choices=Stage.choices, widget=forms.CheckboxSelectMultiple,
                                       help_text=Job._meta.get_field("stages").help_text)
    target_name = forms.ChoiceField(label="Target", help_text=Job._meta.get_field("target_name").help_text)

    class Meta:
        model = Job
        fields = ["name", "description", "enabled", "stages", "games", "exclude_games", "tables",
                  "exclude_tables", "source", "mode", "target_name", "collision", "schedule",
                  "schema_options", "sync_options"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target_name"].choices = target_choices(self.initial.get("target_name", ""))
        self.setup_choices(str(settings.HOCKEYOPS_DATA_DIR))
        if not self.instance.pk:
            self.initial["stages"] = self.initial.get("stages") or [Stage.ETL.value]
        for name in ("games", "exclude_games"):
            self.initial[name] = [str(g) for g in self.initial.get(name) or []]
            self.fields[name].help_text = Job._meta.get_field(name).help_text or self.fields[name].help_text

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
        try:
            build_plan(data["stages"], etl={k: data[k] for k in ("games", "exclude_games", "tables",
                                                                 "exclude_tables", "source", "mode")},
                       target=data["target_name"], schema=data.get("schema_options"),
                       sync=data.get("sync_options"))
        except PlanError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


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
