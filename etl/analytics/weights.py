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

# ---- shot assists (core_facts.py: own passes within 3 passes of a shot on goal): the team's last completed
# pass at most this many events and seconds before its shot on goal, by another player
SHOT_ASSIST_EVENTS = 3
SHOT_ASSIST_SECONDS = 5

# ---- game score (core_facts.py calculate_game_score): 2.0 + sum of weight x stat
GAME_SCORE_BASE = 2.0
GAME_SCORE = {"goals": 1.0, "primary_assists": 0.8, "secondary_assists": 0.5, "sog": 0.1,
              "high_danger_chances": 0.15, "controlled_entries": 0.08, "second_touch": 0.02, "shot_assists": 0.15,
              "takeaways": 0.15, "blocks": 0.08, "poke_checks": 0.05, "backchecks": 0.1, "forechecks": 0.08,
              "puck_battles_total": 0.03, "faceoff_net": 0.03, "poise_index": 0.2, "giveaways": -0.08}
# the poise index needs plays tagged "under pressure", which these trackers do not record: it counts 0

# ---- GAR / WAR (analytics_constants.yaml; core_facts.py calculate_war_stats)
GAR_OFFENCE = {"goals": 1.0, "primary_assists": 0.7, "secondary_assists": 0.4, "sog": 0.015, "xg_for": 0.8,
               "shot_assists": 0.3}
GAR_DEFENCE = {"takeaways": 0.05, "blocks": 0.02, "controlled_exits": 0.03}
GAR_POSSESSION = 0.02  # x (cf_pct - 50) / 100 x TOI minutes
GAR_TRANSITION = {"controlled_entries": 0.04}
GAR_POISE = 0.02  # x successful plays under pressure (not tracked: 0)
GOALS_PER_WIN = 4.5  # WAR = GAR / 4.5

# ---- adjusted rating / performance index (core_facts.py): expected game score of a rating 1..10
EXPECTED_GAME_SCORE = (1.0, 2.3, 3.5, 4.7, 5.9, 7.1, 8.3, 9.5, 10.7, 12.0)

# ---- goalie model (core_facts.py _create_fact_goalie_game_stats_original)
LEAGUE_SAVE_PCT = 0.88  # GSAA = shots against x (1 - 0.88) - goals against
GOALIE_GAR = {"goals_saved_above_avg": 1.0, "hd_saves": 0.15, "quality_start": 0.5, "saves_freeze": 0.05}
QUALITY_START_SAVE_PCT = 91.7  # a quality start: save % >= 91.7 or at most 2 goals against
QUALITY_START_MAX_GOALS = 2

# ---- giveaways that hurt the team (event_enhancers.py is_bad_giveaway): event_detail_2 of the giveaway, compared
# with letters and digits only (the trackers write Giveaway_ZoneEntry/ExitMisplay for the contract's
# Giveaway_ZoneEntry_ExitMisplay)
BAD_GIVEAWAY_DETAILS = ("Giveaway_Misplayed", "Giveaway_PassBlocked", "Giveaway_PassIntercepted",
                        "Giveaway_PassMissed", "Giveaway_PassReceiverMissed", "Giveaway_ZoneEntry_ExitMisplay")

# ---- rush events (core_facts.py calculate_rush_stats, as the contract's fact_player_game_stats derivations say):
# a rush event is a controlled zone entry followed by its team's shot on goal within RUSH_WINDOW_SECONDS; an
# offensive rush "generated a shot" with the team's shot on goal within 10 s and "a goal" with its goal within 15 s
RUSH_SHOT_GENERATED_SECONDS = 10
RUSH_GOAL_GENERATED_SECONDS = 15
# a breakaway: a rush event whose event_detail_2 contains this word (ZoneEntry_RushBreakaway)
BREAKAWAY_WORD = "breakaway"

# ---- competition-adjusted stats (core_facts.py calculate_ratings_adjusted_stats): *_adj = stat x 4.0 / the
# TOI-weighted opponent rating (avg_opp_rating)
ADJ_REFERENCE_RATING = 4.0

# ---- goalie pressure (the old goalie builder's sequence rules, core_facts.py; the contract's
# v_detail_goalie_pressure lists only the column names): a shot on goal a goalie faced counts against the number of
# shots on goal he faced in its sequence (fact_events.sequence_key): 1 = a single shot, at least
# PRESSURE_MULTI_SHOT = a multi-shot sequence, at least PRESSURE_SUSTAINED_SHOTS = sustained pressure
PRESSURE_MULTI_SHOT = 2
PRESSURE_SUSTAINED_SHOTS = 4
