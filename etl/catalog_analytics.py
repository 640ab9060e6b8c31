"""Catalog declarations of the analytics tables (issue 13), appended to ``etl.catalog.TABLES``.

Kept apart from the core declarations so that work on the core tables and this module do not touch
the same lines. Column names follow the dashboard contract; a column already in the shared vocabulary
(``etl.catalog.COLUMNS``) is reused with its type, and new names are added to it here.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

_FLAG = "(0/1)"
_SIDE = "game_id season_id venue team_id team_name home_team_id away_team_id"
_PLAYER = "game_id season_id player_id player_name team_id team_name venue"

# New column vocabulary: name -> (Postgres type, description).
ANALYTICS_COLUMNS: dict[str, tuple[str, str]] = {
    "player_name": ("text", "Player full name (dim_player.player_full_name)."),
    "team_name": ("text", "Short team name."),
    # shots and xG
    "is_rebound": ("integer", f"Shot within a few seconds of a Rebound event {_FLAG}."),
    "is_rush": ("integer", f"Shot on goal within 7 s of a controlled zone entry by its team {_FLAG}."),
    "is_high_danger": ("integer", f"Shot danger level is high {_FLAG}."),
    "is_scoring_chance": ("integer", f"Shot on goal of high or medium danger {_FLAG}."),
    "danger_level": ("text", "high (rebound, tip, one-timer, deflection), medium (offensive zone) or low; shots "
                             "on goal and goals only."),
    "shot_type_factor": ("numeric", "xG factor of the shot type (event_detail_2)."),
    "xg_raw": ("numeric", "Shot probability before the flurry adjustment (etl/analytics/weights.py)."),
    "flurry_id": ("text", "Flurry key FL{game_id}{n:05d}: shots of one shooter less than 3 s apart."),
    "xg": ("numeric", "Expected goals of the shot: its share of its flurry's 1 - prod(1 - xg_raw); sums to the "
                      "shooter's and team's xG."),
    "xg_for": ("numeric", "Expected goals for (sum of the shots' xg)."),
    "xg_against": ("numeric", "Expected goals against (sum of the opponent's shots' xg)."),
    # lines
    "combo_type": ("text", "forward (forward group of 2+) or defense (defence pair)."),
    "combo_key": ("text", "Comma-separated sorted player ids of the combination (J+jersey for unlinked)."),
    "forward_combo": ("text", "Forwards of the combination (null on defence rows)."),
    "defense_combo": ("text", "Defencemen of the pair (null on forward rows)."),
    "toi_together": ("numeric", "Seconds on ice together (sum of the shared shifts' durations)."),
    "cf_pct": ("numeric", "Corsi-for %: corsi_for / (corsi_for + corsi_against) * 100; 50 when none."),
    "player_1_id": ("text", "First player of the teammate pair (the smaller id)."),
    "player_1_name": ("text", "Name of player 1."),
    "player_2_id": ("text", "Second player of the pair."),
    "player_2_name": ("text", "Name of player 2."),
    "shared_shifts": ("integer", "Shifts both players were on."),
    "toi_player_1_apart": ("numeric", "Seconds player 1 was on ice without player 2."),
    "toi_player_2_apart": ("numeric", "Seconds player 2 was on ice without player 1."),
    "cf_pct_together": ("numeric", "Corsi-for % of the shared shifts."),
    "cf_pct_apart": ("numeric", "Corsi-for % of the shifts of either player without the other; 50 when none."),
    "cf_pct_delta": ("numeric", "cf_pct_together - cf_pct_apart."),
    # ratings
    "shifts_tracked": ("integer", "Shift rows of the player in the game."),
    "player_rating": ("numeric", "dim_player.current_skill_rating (null when unrated)."),
    "avg_own_rating": ("numeric", "The player's (or side's) rating; 4.0 when unrated."),
    "avg_opp_rating": ("numeric", "Mean over the shifts of the opposing skaters' mean rating (quality of "
                                  "competition)."),
    "rating_diff": ("numeric", "avg_own_rating - avg_opp_rating (positive: stronger than the competition)."),
    "shift_quality_score": ("numeric", "xg_for - xg_against of the shift."),
    "shift_quality": ("text", "good, even or poor by shift_quality_score (bounds in etl/analytics/weights.py)."),
    # zones
    "offensive_zone_events": ("integer", "Events in the side's offensive zone (own events in o, opponent's in d)."),
    "defensive_zone_events": ("integer", "Events in the side's defensive zone (own in d, opponent's in o)."),
    "neutral_zone_events": ("integer", "Events in the neutral zone."),
    "offensive_zone_pct": ("numeric", "Share of the game's zoned events in the side's offensive zone, %."),
    "defensive_zone_pct": ("numeric", "Share in the side's defensive zone, %."),
    "neutral_zone_pct": ("numeric", "Share in the neutral zone, %."),
    "total_entries": ("integer", "Zone entries by the player (Zone_Entry or Zone_EntryFailed, event player 1)."),
    "controlled_entries": ("integer", "Entries carried or passed in (ZoneEntry_Rush, _RushBreakaway, _Pass)."),
    "dump_entries": ("integer", "Dump-in entries."),
    "failed_entries": ("integer", "Failed entries (Zone_EntryFailed, or a detail naming fail/turnover)."),
    "controlled_entry_pct": ("numeric", "controlled_entries / total_entries * 100; 0 when none."),
    "games": ("integer", "Games covered (1 per game row)."),
    "total_exits": ("integer", "Zone exits by the player (Zone_Exit or Zone_ExitFailed, event player 1)."),
    "controlled_exits": ("integer", "Exits carried or passed out (ZoneExit_Rush, ZoneExit_Pass)."),
    "failed_exits": ("integer", "Failed exits (Zone_ExitFailed, or a detail naming fail/turnover/misplay)."),
    # saves
    "save_id": ("text", "Save key (the save's event_id)."),
    "goalie_name": ("text", "Name of the goalie."),
    "event_type": ("text", "Event type as tracked (always Save here)."),
    "save_type": ("text", "glove, blocker, pad, butterfly, chest, stick, scramble or other (event_detail_2)."),
    "is_freeze": ("integer", f"The goalie froze the puck (Save_Freeze) {_FLAG}."),
    # micro stats (one event counts once per player)
    **{name: ("integer", desc) for name, desc in {
        "dekes": "Dekes (not BeatDeke / StoppedDeke, which are defensive).",
        "drives_middle": "Drives through the middle.", "drives_wide": "Drives wide.",
        "drives_corner": "Drives to the corner.", "drives_net": "Drives to the net (not through the middle).",
        "drives_total": "drives_middle + drives_wide + drives_corner + drives_net.",
        "cutbacks": "Cutbacks.", "cycles": "Cycle plays.", "screens": "Screens in front of the goalie.",
        "crash_net": "Net crashes.", "give_and_go": "Give-and-go plays.", "second_touch": "Second-touch plays.",
        "delays": "Delay plays.", "breakouts": "Breakout plays.", "dump_ins": "Dump-ins (and dump and chase).",
        "odd_man_rushes": "Odd-man rushes.", "forechecks": "Forechecks.", "backchecks": "Backchecks.",
        "poke_checks": "Poke checks.", "stick_checks": "Stick checks.", "zone_ent_denials": "Zone entries denied.",
        "puck_battles": "Puck battles engaged (loose-puck or board battles).",
        "loose_puck_wins": "Loose-puck battles won.", "board_battles_won": "Board battles won.",
        "puck_recoveries": "Puck recoveries / retrievals.",
        "puck_battles_total": "loose_puck_wins + puck_recoveries + board_battles_won.",
        "hits": "Hits (event type Hit; a non-contact league tracks none: see qa_data_issues untracked_metric).",
        "pass_attempts": "Passes attempted (event type Pass, event player 1).",
        "pass_completed": "Passes completed (event_detail Pass_Completed).",
        "plays_successful": "Events of the player (player 1) marked successful.",
        "plays_unsuccessful": "Events of the player (player 1) marked unsuccessful.",
    }.items()},
    "pass_pct": ("numeric", "pass_completed / pass_attempts * 100; 0 when none."),
    "micro_stat": ("text", "Micro-stat name (a fact_player_game_stats column name: dekes, backchecks, "
                           "drives_total, ...; etl/analytics/micro.py LONG_STATS)."),
    "count": ("integer", "How many times the player made the micro_stat in the game (above 0: a micro-stat he "
                         "never made has no row)."),
    # involvement and rush columns of fact_player_game_stats (etl/analytics/rush.py)
    "bad_giveaways": ("integer", "Giveaways that hurt the team: event_detail_2 one of weights.BAD_GIVEAWAY_DETAILS "
                                 "(misplays; passes blocked, intercepted or missed; entry/exit misplays)."),
    "breakaway_goals": ("integer", "Rush events led by the player (event player 1) whose event_detail_2 names a "
                                   "breakaway and whose team's next shot on goal was a goal."),
    "primary_def_events": ("integer", "Events where the player was the primary defender (role opp_player_1)."),
    "support_def_events": ("integer", "Events where the player was a supporting defender (role opp_player_2..6)."),
    "def_involvement": ("integer", "primary_def_events + support_def_events."),
    "play_success_rate": ("numeric", "plays_successful / (plays_successful + plays_unsuccessful) * 100, 1 "
                                     "decimal; empty when none."),
    "rush_involvement": ("integer", "Rush events (controlled entry followed by the team's shot on goal within 7 s) "
                                    "the player took part in as an event-team player (1..6)."),
    "rush_off_shot_generated": ("integer", "Of rush_involvement: the team's next shot on goal came within 10 s "
                                           "(every rush has one within 7 s, so this equals rush_involvement, as "
                                           "in the old rule)."),
    "rush_off_goal_generated": ("integer", "Of rush_involvement: the team's next goal came within 15 s."),
    "rush_off_success": ("integer", "Of rush_involvement: the entry was marked successful or a shot on goal came "
                                    "within 10 s."),
    "rush_assists": ("integer", "Assists (fact_goals primary or secondary) on rush goals (goals whose shot is a "
                                "rush shot, as rush_goals counts them). The old rule (assist tags on the rush "
                                "event's own row) never holds: the tracker tags assists on passes, not on entries."),
    "rush_points": ("integer", "rush_goals + rush_assists."),
    # season model columns (fact_player_season_stats_basic: sums over the tracked games of the row's scope)
    "games_tracked": ("integer", "Tracked games of the row's scope (the player's fact_player_game_stats rows)."),
    "gar": ("numeric", "Goals above replacement: sum of fact_player_game_stats.gar_total over the tracked games."),
    "goals_above_expected": ("numeric", "Tracked goals - xg_for over the tracked games."),
    "xg_adj": ("numeric", "Competition-adjusted xG: sum over the tracked games of xg_for x 4.0 / avg_opp_rating "
                          "(weights.ADJ_REFERENCE_RATING)."),
    "xg_per_game": ("numeric", "xg_for / games_tracked, 3 decimals."),
    # model columns added to the core game tables (EXTRA_COLUMNS)
    "scoring_chances": ("integer", "Shots on goal of high or medium danger."),
    "high_danger_chances": ("integer", "Shots on goal of high danger."),
    "rush_shots": ("integer", "Rush shots on goal (within 7 s of the team's controlled entry)."),
    "rush_goals": ("integer", "Goals on rush shots."),
    "rush_xg": ("numeric", "xG of the player's rush shots."),
    "shot_assists": ("integer", "Completed passes that were the team's last pass before a teammate's shot on goal "
                                "(at most 3 events and 5 s before it)."),
    "game_score": ("numeric", "Single-game score: 2.0 + weighted stats (etl/analytics/weights.py GAME_SCORE; the "
                              "poise index counts 0: pressure is not tracked)."),
    "gar_total": ("numeric", "Goals above replacement: offence + defence + possession + transition "
                             "(etl/analytics/weights.py GAR_*)."),
    "war": ("numeric", "Wins above replacement: gar_total / 4.5."),
    "adjusted_rating": ("numeric", "The rating (1-10) whose expected game score equals the game score "
                                   "(interpolated)."),
    "performance_index": ("numeric", "game_score / expected game score of the player's rating * 100."),
    "avg_game_score": ("numeric", "Mean game score of the team's players."),
    "avg_adjusted_rating": ("numeric", "Mean adjusted rating of the team's players."),
    "hd_shots_against": ("integer", "High-danger shots on goal faced."),
    "hd_saves": ("integer", "High-danger shots on goal saved."),
    **{f"saves_{kind}": ("integer", f"Saves of type {kind} (fact_saves.save_type).")
       for kind in ("glove", "blocker", "pad", "butterfly", "chest", "stick", "scramble")},
    "goals_saved_above_avg": ("numeric", "GSAA: shots on goal faced x (1 - 0.88) - goals against."),
    "goalie_gar_total": ("numeric", "Goalie GAR: GSAA + 0.15 x hd_saves + 0.5 for a quality start + 0.05 x frozen "
                                    "saves."),
    "goalie_war": ("numeric", "goalie_gar_total / 4.5."),
}

_EVENTS = ("fact_events", "fact_event_players")
_SHIFTS = ("fact_events", "fact_shifts", "fact_shift_players", "fact_goals")

# (name, description, columns, primary key, upstream)
_TABLES = (
    ("fact_shot_xg", "One row per shot (Shot or Goal event) with its danger level, rush and rebound flags and "
     "expected goals.",
     "shot_id event_id game_id season_id period elapsed_seconds team_id venue player_id player_name "
     "goalie_player_id event_type event_detail event_detail_2 zone_id is_on_goal is_goal is_rebound "
     "is_rush is_high_danger is_scoring_chance danger_level shot_type_factor xg_raw flurry_id xg",
     "shot_id", _EVENTS + ("fact_shifts",)),
    ("fact_line_combos", "Per game and side: forward groups (2+) and defence pairs over their shared shifts.",
     f"{_SIDE} combo_type combo_key forward_combo defense_combo shift_count toi_together corsi_for "
     "corsi_against cf_pct goals_for goals_against xg_for xg_against",
     "game_id venue combo_type combo_key", _SHIFTS),
    ("fact_wowy", "With or without you: every pair of teammates who shared a shift, together and apart.",
     f"{_SIDE} player_1_id player_1_name player_2_id player_2_name shared_shifts toi_together "
     "toi_player_1_apart toi_player_2_apart corsi_for corsi_against goals_for goals_against cf_pct_together "
     "cf_pct_apart cf_pct_delta", "game_id player_1_id player_2_id", _SHIFTS),
    ("fact_player_qoc_summary", "Quality of competition per skater and game: own rating against the "
     "opponents on ice.",
     f"{_PLAYER} toi_seconds shifts_tracked player_rating avg_own_rating avg_opp_rating rating_diff",
     "game_id player_id", ("fact_shift_players",)),
    ("fact_shift_quality", "Per shift and side: attempts, goals and xG for and against, and the ratings on ice.",
     "shift_id game_id season_id venue team_id team_name duration_seconds corsi_for corsi_against goals_for "
     "goals_against xg_for xg_against avg_own_rating avg_opp_rating shift_quality_score shift_quality",
     "shift_id venue", _SHIFTS),
    ("fact_team_zone_time", "Per game and side: events by zone seen from the side.",
     f"{_SIDE} offensive_zone_events defensive_zone_events neutral_zone_events offensive_zone_pct "
     "defensive_zone_pct neutral_zone_pct", "game_id venue", ("fact_events",)),
    ("fact_zone_entry_summary", "Per player and game: zone entries, controlled, dumped and failed.",
     f"{_PLAYER} games total_entries controlled_entries dump_entries failed_entries controlled_entry_pct",
     "game_id player_id", _EVENTS),
    ("fact_zone_exit_summary", "Per player and game: zone exits, controlled and failed.",
     f"{_PLAYER} games total_exits controlled_exits failed_exits", "game_id player_id", _EVENTS),
    ("fact_saves", "One row per save event with the goalie, save type and the danger of the shot saved.",
     "save_id event_id game_id season_id period elapsed_seconds team_id venue goalie_player_id goalie_name "
     "event_type event_detail event_detail_2 save_type is_freeze shot_id danger_level is_high_danger",
     "save_id", _EVENTS + ("fact_shifts",)),
    ("fact_player_micro_stats", "Per player, game and micro-stat (long, as the dashboard's game page reads it): "
     "micro plays, passes and tagged plays with a count above 0 (the per-player columns are in "
     "fact_player_game_stats; untracked metrics are noted in qa_data_issues).",
     f"{_PLAYER} micro_stat count", "game_id player_id micro_stat", _EVENTS),
)


# Model columns appended to core game tables: (columns, per-table descriptions). Kept here, as a separate hook,
# so that the core declarations in etl/catalog.py stay untouched; etl/analytics fills them.
_SCORES = ("xg_for xg_against scoring_chances high_danger_chances rush_shots rush_goals rush_xg shot_assists "
           "avg_opp_rating rating_diff game_score gar_total war adjusted_rating performance_index")
_PLAYER_MICRO = ("dekes drives_middle drives_wide drives_corner drives_net drives_total cutbacks cycles screens "
                 "crash_net give_and_go second_touch delays breakouts dump_ins odd_man_rushes forechecks backchecks "
                 "poke_checks stick_checks zone_ent_denials puck_battles loose_puck_wins puck_recoveries "
                 "puck_battles_total")
_INVOLVEMENT = ("bad_giveaways breakaway_goals def_involvement primary_def_events support_def_events "
                "play_success_rate plays_successful plays_unsuccessful rush_assists rush_involvement "
                "rush_off_goal_generated rush_off_shot_generated rush_off_success rush_points player_rating "
                "skill_rating")
EXTRA_COLUMNS: dict[str, tuple[str, dict[str, str]]] = {
    "fact_player_game_stats": (f"{_SCORES} {_PLAYER_MICRO} {_INVOLVEMENT}", {
        "skill_rating": "The player's skill rating on the game's roster (fact_gameroster.skill_rating); empty when "
                        "he is not on it (the old default 4.0 is not a value of the player).",
        "player_rating": "dim_player.current_skill_rating; empty when unrated (the old default 4.0 is a model "
                         "input, not a value of the player).",
        "xg_for": "Individual expected goals: sum of the xg of the player's shots (fact_shot_xg).",
        "xg_against": "xG of the opponent's shots during the player's shifts.",
        "avg_opp_rating": "Time-weighted mean rating of the opposing skaters on the player's shifts; 4.0 when "
                          "unknown.",
        "rating_diff": "avg_opp_rating - the player's rating (positive: faced stronger players)."}),
    "fact_team_game_stats": ("xg_for xg_against avg_game_score gar_total war avg_adjusted_rating forechecks", {
        "xg_for": "Team expected goals: sum of the xg of its shots.",
        "xg_against": "The opponent's xg_for.", "gar_total": "Sum of the players' gar_total.",
        "war": "Sum of the players' war.", "forechecks": "Sum of the players' forechecks."}),
    "fact_goalie_game_stats": ("hd_shots_against hd_saves saves_glove saves_blocker saves_pad saves_butterfly "
                               "saves_chest saves_stick saves_scramble goals_saved_above_avg goalie_gar_total "
                               "goalie_war", {}),
    # the shot model's results on the event and shot-location rows (fact_shot_xg's logic, not a second model)
    "fact_events": ("danger_level is_rush", {
        "danger_level": "Danger of a shot on goal or goal event: high, medium or low (fact_shot_xg.danger_level); "
                        "empty on other events.",
        "is_rush": "The event is a controlled zone entry followed by its team's shot on goal within 7 s (0/1): the "
                   "entry that makes a shot a rush shot in fact_shot_xg (the dashboard flags the entry)."}),
    "fact_shot_xy": ("xg", {"xg": "Expected goals of the shot (fact_shot_xg.xg)."}),
    # season sums of the game model columns, for every game_type row and All (etl/builders/seasons.py
    # season_model_columns); empty where the player has no tracked game in the row's scope
    "fact_player_season_stats_basic": ("games_tracked xg_for goals_above_expected gar war player_rating xg_adj "
                                       "xg_per_game", {
        "xg_for": "Expected goals: sum of fact_player_game_stats.xg_for over the row's tracked games.",
        "war": "Wins above replacement: sum of fact_player_game_stats.war over the row's tracked games.",
        "player_rating": "dim_player.current_skill_rating (empty when unrated)."}),
}
# Upstream tables the model columns add to a core table (the season model columns read the game rows).
EXTRA_UPSTREAM: dict[str, tuple[str, ...]] = {"fact_player_season_stats_basic": ("fact_player_game_stats",)}


def _extended(tables: tuple, table: Callable) -> tuple:
    """``tables`` with EXTRA_COLUMNS appended to the named ones."""
    out = []
    for t in tables:
        if t.name in EXTRA_COLUMNS:
            cols, describe = EXTRA_COLUMNS[t.name]
            extra = table(t.name, t.category, t.description, f"game_id {cols}", "game_id", t.grain,
                          describe=describe).columns[1:]
            t = replace(t, columns=t.columns + extra)
        if t.name in EXTRA_UPSTREAM:
            t = replace(t, upstream=t.upstream + tuple(u for u in EXTRA_UPSTREAM[t.name] if u not in t.upstream))
        out.append(t)
    return tuple(out)


def with_analytics(tables: tuple, columns: dict[str, tuple[str, str]], table: Callable) -> tuple:
    """The core ``tables`` with the model columns appended (EXTRA_COLUMNS), followed by the analytics tables."""
    new = analytics_tables(columns, table)
    return _extended(tables, table) + new


def analytics_tables(columns: dict[str, tuple[str, str]], table: Callable) -> tuple:
    """The analytics tables, declared with ``table`` (``etl.catalog._table``) after adding their columns to
    the shared vocabulary ``columns``; a name already there keeps its declaration and must keep its type."""
    for name, (type_, description) in ANALYTICS_COLUMNS.items():
        known = columns.setdefault(name, (type_, description))
        if known[0] != type_:
            raise TypeError(f"The analytics column {name} is declared as {type_}, but the catalog already has it "
                            f"as {known[0]}.")
    return tuple(table(name, "fact", description, cols, pk, "game", tags=("tracking",), upstream=upstream)
                 for name, description, cols, pk, upstream in _TABLES)
