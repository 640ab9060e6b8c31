"""Every weight, coefficient and threshold of the analytics models, in one place.

Origins are the old BenchSight system as the dashboard contract records them
(``../shared/benchsight/dashboard-contract.json``, summarised in ``DASHBOARD.md``, "Model-based
metrics"): ``analytics_constants.yaml`` holds the xG and WAR constants, ``event_enhancers.py`` the
danger and rush rules, ``core_facts.py`` the save types, goalie model and game score.
"""
from __future__ import annotations

# ---- danger levels (event_enhancers.py): shots on goal and goals only
# high: a rebound shot or event_detail_2 naming one of these; medium: from the offensive zone; else low
HIGH_DANGER_DETAILS = ("tip", "onetime", "deflect")
MEDIUM_DANGER_ZONE = "o"
# A shot this many seconds or fewer after a Rebound event is a rebound shot. The contract's test ("the event
# is a rebound", event_type Rebound) never holds on a shot event, so the rebound is found by time instead.
REBOUND_WINDOW_SECONDS = 3

# ---- rush (event_enhancers.py): a controlled zone entry followed by a shot on goal within this many seconds
RUSH_WINDOW_SECONDS = 7
# Zone entries the tracker types as carried or passed in (dim_zone_entry_type.is_controlled in the old system)
CONTROLLED_ENTRY_DETAILS = ("zoneentry_rush", "zoneentry_rushbreakaway", "zoneentry_pass")
# Controlled zone exits (carried or passed out)
CONTROLLED_EXIT_DETAILS = ("zoneexit_rush", "zoneexit_pass")

# ---- expected goals (analytics_constants.yaml xg; core_facts.py calculate_xg_stats)
XG_BASE = {"high": 0.25, "medium": 0.08, "low": 0.03}
XG_BASE_UNKNOWN = 0.06  # shots without a danger level (missed and blocked attempts)
XG_RUSH_FACTOR = 1.3
# shot type factor by a word of event_detail_2 (first match wins; others 1.0)
XG_SHOT_TYPE = (("wrist", 1.0), ("slap", 0.95), ("snap", 1.05), ("backhand", 0.9), ("tip", 1.15),
                ("deflect", 1.1))
XG_SHOT_CAP = 0.95
# shots of one shooter fewer than this many seconds apart form one flurry worth 1 - prod(1 - xG), capped
XG_FLURRY_SECONDS = 3
XG_FLURRY_CAP = 0.99

# ---- scoring chances: shots on goal with danger high or medium (the old flag had no definition of its own)
SCORING_CHANCE_DANGER = ("high", "medium")

# ---- shift quality (new; no old definition): xG for minus against per shift, labelled by these bounds
SHIFT_QUALITY_GOOD = 0.05
SHIFT_QUALITY_POOR = -0.05

# ---- ratings (core_facts.py calculate_ratings_adjusted_stats): a player without a rating counts as this
DEFAULT_RATING = 4.0

# ---- save types (core_facts.py _create_fact_goalie_game_stats_original): word of event_detail_2 -> type
SAVE_TYPES = (("glove", "glove"), ("blocker", "blocker"), ("pad", "pad"), ("butterfly", "butterfly"),
              ("chest", "chest"), ("shoulder", "chest"), ("stick", "stick"), ("scramble", "scramble"))
SAVE_TYPE_OTHER = "other"
# A save belongs to the opponent's shot on goal at most this many seconds before it.
SAVE_SHOT_WINDOW_SECONDS = 3
