"""The table catalog: the single declaration of every warehouse table.

Schema DDL, sync column lists, the admin and selection all read this module; builders must
produce exactly the declared columns in the declared order (checked by the output store).

A column's type and description are declared once in ``COLUMNS`` so that a name means the same
thing (and has the same Postgres type) in every table.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from .catalog_analytics import ANALYTICS_COLUMNS, with_analytics

CATEGORIES = ("dim", "fact", "qa")
TAGS = ("basic", "tracking")
# How a table is built: from the master workbook alone, per tracked game, or from all games.
GRAINS = ("master", "game", "league")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    category: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    grain: str
    tags: tuple[str, ...] = ()
    upstream: tuple[str, ...] = ()
    game_scoped: bool = False

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name}")


# Key of an event whose number the tracker reused (restarted numbering): its number plus this offset per
# earlier event of the same number, so the first use keeps EV{game}{number:05d} and later ones are stable
# (the second event numbered 1864 is 51864). Raised tenfold for a workbook whose numbers reach it.
REUSED_INDEX_OFFSET = 50_000

# Shared column vocabulary: name -> (Postgres type, description).
COLUMNS: dict[str, tuple[str, str]] = {
    # identities
    "game_id": ("integer", "League game number (dim_schedule.game_id)."),
    "player_id": ("text", "League player id, e.g. P100001."),
    "team_id": ("text", "League team id, e.g. N10001."),
    "opp_team_id": ("text", "Opponent team id."),
    "season_id": ("text", "League season id, e.g. N20252026F."),
    "season": ("integer", "Season as the league writes it, e.g. 20252026."),
    "league_id": ("text", "League code (N = NORAD, C = CSAHA)."),
    "league": ("text", "League name."),
    "event_id": ("text", "Event key EV{game_id}{event_index:05d}."),
    "shift_id": ("text", "Shift key SH{game_id}{shift_index:05d}."),
    "event_index": ("integer", "Event number within the game as tracked; an event of a restarted numbering block "
                    f"carries its tracked number plus {REUSED_INDEX_OFFSET} per earlier use of that number (see "
                    "qa_data_issues kind reused_event_index)."),
    "shift_index": ("integer", "Shift number within the game as tracked."),
    "venue": ("text", "home or away (per dim_schedule)."),
    "jersey": ("text", "Jersey number as worn (normalised, e.g. 27)."),
    "period": ("integer", "Period number (4 = overtime)."),
    "clock_seconds": ("integer", "Seconds left on the period's countdown clock."),
    "elapsed_seconds": ("integer", "Seconds elapsed since the start of the game."),
    "strength_id": ("text", "Skaters on ice, event/own team first, e.g. 5v4."),
    "strength": ("text", "Skaters on ice per side, home first, e.g. 5v5, 5v4; ENH/ENA when the home/away net is "
                 "empty (the dashboard's label; strength_id is the own-team-first key into dim_strength)."),
    "running_video_time": ("numeric", "Seconds from the start of the game video to the event/shift start, used "
                           "to seek the video: the workbook's running_video_time where it has one, else estimated "
                           "from period and clock as the contract says."),
    "shift_key": ("text", "Same value as shift_id (the dashboard's linking key)."),
    "source_row": ("integer", "Excel row number the value came from (header = row 1)."),
    # people and teams
    "player_first_name": ("text", "First name."),
    "player_last_name": ("text", "Last name."),
    "player_full_name": ("text", "Full name."),
    "player_name": ("text", "Player's full name (dim_player.player_full_name), for display."),
    "opp_team_name": ("text", "Opponent's short team name (dim_team.team_name), for display."),
    "current_team": ("text", "Short name of the team of the player's latest game."),
    "player_primary_position": ("text", "Usual position."),
    "player_position": ("text", "Position played in the game."),
    "player_hand": ("text", "Shoots left or right."),
    "player_gender": ("text", "Gender as registered."),
    "birth_year": ("integer", "Year of birth."),
    "skill_rating": ("integer", "League skill rating (1-6)."),
    "current_skill_rating": ("integer", "Current league skill rating (1-6)."),
    "highest_beer_league": ("text", "Highest recreational league played."),
    "player_leadership": ("text", "Captaincy letter (C, A, S)."),
    "player_norad_current_team_id": ("text", "Current NORAD team id."),
    "player_norad_current_team": ("text", "Name of the NORAD team the player currently plays for (master sheet)."),
    "jersey_number": ("text", "Jersey number (normalised, e.g. 27): the master sheet's player_norad_primary_number, "
                      "else the jersey of the player's latest game on the official roster."),
    "other_url": ("text", "Secondary external URL (master sheet; mostly empty)."),
    "player_rating_ly": ("integer", "Skill rating last year (master sheet)."),
    "primary_color": ("text", "Primary colour: same as team_color1 (the name the analytics pages read)."),
    "player_url": ("text", "Player page on the league site."),
    "player_image": ("text", "Player photo URL."),
    "team_name": ("text", "Short team name."),
    "long_team_name": ("text", "Sponsor/long team name."),
    "team_cd": ("text", "Team code."),
    "team_color1": ("text", "Primary colour."),
    "team_color2": ("text", "Secondary colour."),
    "team_logo": ("text", "Logo URL."),
    "team_url": ("text", "Team page URL."),
    "is_norad": ("boolean", "Team plays in NORAD."),
    "session": ("text", "Season session code."),
    "start_date": ("date", "First day of the season."),
    # schedule
    "date": ("date", "Date the game was played (YYYY-MM-DD), per dim_schedule."),
    "game_date": ("date", "Date the game was played (YYYY-MM-DD), per dim_schedule."),
    "schedule_type": ("text", "Past (played), Upcoming or PPD: the master schedule's own column where it has one, "
                      "else Past when both official scores are known and Upcoming otherwise."),
    "include": ("boolean", "Game counts for the dashboard (views filter include = true): the master schedule's "
                "own column where it has one, else true."),
    **{f"{v}_team_period{p}_goals": ("integer", f"Official {v} goals in period {p} (blank in the sheet when none).")
       for v in ("home", "away") for p in (1, 2, 3)},
    "game_time": ("text", "Face-off time (HH:MM:SS)."),
    "home_team_id": ("text", "Home team id per the schedule."),
    "away_team_id": ("text", "Away team id per the schedule."),
    "home_team_name": ("text", "Home team name per the schedule."),
    "away_team_name": ("text", "Away team name per the schedule."),
    "game_type": ("text", "Regular, Playoffs, ..."),
    "playoff_round": ("text", "Playoff round, if any."),
    "last_period_type": ("text", "Regulation, OT or Shootout."),
    "home_total_goals": ("integer", "Official home goals."),
    "away_total_goals": ("integer", "Official away goals."),
    "game_url": ("text", "Game page on the league site."),
    "video_url": ("text", "Game video URL."),
    "video_start_offset": ("numeric", "Seconds into the video where play starts: the master schedule's "
                           "video_start_time, else the start offset of the game's video sheet; empty when neither."),
    "video_url_1": ("text", "First game video URL: Url_1 of the game's <id>_video_times.xlsx (first video row), else "
                    "the master schedule's video_url."),
    "video_url_2": ("text", "Second game video URL: Url_2 of the game's video sheet (first video row with one)."),
    **{f"{v}_pp_goals": ("integer", f"{v.title()} power-play goals: tracked goals (Goal_Scored) of the {v} team "
                         "while it had more skaters on ice (the goal's strength, e.g. 5v4); empty for a game not "
                         "tracked.") for v in ("home", "away")},
    **{f"{v}_pp_opportunities": ("integer", f"{v.title()} power-play opportunities: tracked penalties "
                                 f"(Penalty events) of the {o} team; empty for a game not tracked.")
       for v, o in (("home", "away"), ("away", "home"))},
    **{f"{v}_pk_goals_against": ("integer", f"Goals allowed by the {v} team short-handed: equals {o}_pp_goals.")
       for v, o in (("home", "away"), ("away", "home"))},
    **{f"{v}_pk_opportunities": ("integer", f"Times the {v} team was short-handed: equals {o}_pp_opportunities.")
       for v, o in (("home", "away"), ("away", "home"))},
    # box score
    "games_played": ("integer", "Games played."),
    "goals": ("integer", "Goals."),
    "assists": ("integer", "Assists."),
    "assist": ("integer", "Assists per the official box score (the master sheet's name)."),
    "team_venue": ("text", "home or away of the row's team (per dim_schedule)."),
    "player_game_number": ("text", "Jersey number worn in the game (normalised, e.g. 27)."),
    "points": ("integer", "Goals plus assists."),
    "pim": ("integer", "Penalty minutes."),
    "goals_against": ("integer", "Goals allowed."),
    "shutouts": ("integer", "Shutouts."),
    "is_sub": ("boolean", "Played as a substitute."),
    "sub": ("integer", "Substitute flag as the master sheet writes it: 1 = played as a sub, else 0 (is_sub as 0/1)."),
    "pim_total": ("integer", "Same as pim (the name the dashboard also reads)."),
    "player_skill_rating": ("integer", "Same as skill_rating (the name the dashboard also reads)."),
    "player_game_id": ("text", "Key {game_id}{team_id}{player_id or J+jersey}."),
    # registration / draft / leadership
    "player_season_registration_id": ("text", "Registration key as the league writes it."),
    "restricted": ("boolean", "Restricted player in the draft."),
    "position": ("text", "Position registered for."),
    "norad_experience": ("integer", "Seasons of NORAD experience."),
    "drafted_team_id": ("text", "Team that drafted the player."),
    "player_draft_id": ("text", "Draft key as the league writes it."),
    "draft_round": ("integer", "Draft round."),
    "overall_draft_position": ("integer", "Overall pick number."),
    "leadership_id": ("text", "Key {season_id}{team_id}{player_id}."),
    "leadership": ("text", "Captaincy letter (C, A, S)."),
    # vocabularies
    "code": ("text", "Normalised code as tracked (whitespace trimmed, '-' read as '_')."),
    "name": ("text", "Readable name."),
    "is_standard": ("boolean", "Code is in the tracker's standard vocabulary."),
    "position_id": ("text", "Position code."),
    "venue_id": ("text", "home or away."),
    "venue_abbrev": ("text", "h or a."),
    "period_id": ("text", "Period key 'P' + 2-digit period number (P01..P09); dim_period's key."),
    "period_seconds": ("integer", "Regulation length of the period in seconds."),
    "zone_id": ("text", "Zone from the event team's view: o, n, d."),
    "event_type": ("text", "Event type code, e.g. Shot."),
    "event_detail": ("text", "Event detail code, e.g. Shot_OnNetSaved."),
    "event_detail_2": ("text", "Second event detail code, e.g. Shot_Wrist."),
    "play_detail_id": ("text", "Play detail code, e.g. AssistPrimary."),
    "play_detail1": ("text", "First play detail code on the row."),
    "play_detail_2": ("text", "Second play detail code on the row."),
    "side": ("text", "event (the event team) or opp."),
    "role_number": ("integer", "Order of the player within the side in the event."),
    "skaters_for": ("integer", "Skaters of the first team."),
    "skaters_against": ("integer", "Skaters of the second team."),
    "shift_start_type": ("text", "How the shift started, as tracked (e.g. GameStart, PeriodStart, OtherFaceoff); "
                         "dim_shift_start_type's code."),
    "shift_stop_type": ("text", "How the shift ended, as tracked (e.g. Home Goal, Away Icing, PeriodEnd); "
                        "dim_shift_stop_type's code."),
    # events
    "event_team_id": ("text", "Team that performed the event."),
    "event_successful": ("text", "s (successful) or u (unsuccessful) as tracked."),
    "player_count": ("integer", "Players recorded on the event."),
    "is_goal": ("boolean", "Event is a goal (Goal / Goal_Scored)."),
    "event_player_id": ("text", "Key {event_id}_{E|O}{role_number}."),
    "time_start_total_seconds": ("integer", "Countdown clock at the event's start, in seconds left in the period "
                                 "(event_start_min * 60 + event_start_sec; start and end swapped when typed the "
                                 "wrong way round: qa_data_issues kind inverted_event_time)."),
    "time_end_total_seconds": ("integer", "Countdown clock at the event's end, in seconds left (event_end_min * 60 + "
                               "event_end_sec); the start for an event typed without an end (it lasts 0 s)."),
    "event_start_min": ("integer", "Minutes on the countdown clock at the event's start, as typed."),
    "event_start_sec": ("integer", "Seconds part of the countdown clock at the event's start, as typed."),
    "event_end_min": ("integer", "Minutes on the countdown clock at the event's end, as typed (empty when the "
                      "tracker typed no end)."),
    "event_end_sec": ("integer", "Seconds part of the countdown clock at the event's end, as typed."),
    "duration": ("integer", "Event length in seconds: time_start_total_seconds - time_end_total_seconds (the "
                 "dashboard's name for an event; shift lengths are duration_seconds)."),
    "player_team": ("text", "Short name of the team of the row's player (event player 1: the event team)."),
    "event_team_zone": ("text", "Same value as zone_id (o, n, d from the event team's view), under the dashboard's "
                        "name; zone_id stays the key into dim_zone."),
    "event_player_ids": ("text", "Comma-separated sorted player_ids of the event team's players on the event."),
    "opp_player_ids": ("text", "Comma-separated sorted player_ids of the opposing players on the event."),
    "event_player_2_name_x": ("text", "Full name of the event team's player 2 (the dashboard's column name: a "
                              "merge suffix of the old ETL, kept because the dashboard reads it)."),
    "shooter_player_id": ("text", "Shooter: the event team's player 1 of a Shot or Goal event (empty otherwise)."),
    "is_save": ("integer", "The event's detail is a save (event_detail starts with Save) (0/1)."),
    "is_highlight": ("integer", "The tracker marked the event as a highlight (is_highlight column; 0 when the "
                     "workbook has none) (0/1)."),
    "linked_event_key": ("text", "Key LV{game_id}{linked_event_index:05d} of the group of events the tracker linked "
                         "(e.g. a shot and its save); empty when not linked."),
    "sequence_key": ("text", "Whistle-to-whistle sequence key SQ{game_id}{n:05d}: a sequence starts at a faceoff (or "
                     "the first event after a stoppage) and ends on a stoppage-type event (Stoppage, Goal, Penalty, "
                     "DeadIce, Intermission, GameEnd, Timeout, Clockstop); empty outside a sequence."),
    "play_key": ("text", "Play key PL{game_id}{sequence * 100 + play:05d}: within a sequence a new play starts after "
                 "a turnover or a zone entry/exit (failed ones included)."),
    "puck_x_start": ("numeric", "Puck x at the event's start: the first point of the event's puck path in the "
                     "tracker's XY export (fact_puck_xy_long point 1); empty without XY."),
    "puck_y_start": ("numeric", "Puck y at the event's start (see puck_x_start)."),
    # shifts
    "shift_start_total_seconds": ("integer", "Countdown clock at shift start: seconds left in the period "
                                  "(shift_start_min x 60 + shift_start_sec)."),
    "shift_end_total_seconds": ("integer", "Countdown clock at shift end: seconds left in the period "
                                "(shift_end_min x 60 + shift_end_sec)."),
    "shift_start_min": ("integer", "Minutes of the countdown clock at shift start."),
    "shift_start_sec": ("integer", "Seconds (0-59) of the countdown clock at shift start."),
    "shift_end_min": ("integer", "Minutes of the countdown clock at shift end."),
    "shift_end_sec": ("integer", "Seconds (0-59) of the countdown clock at shift end."),
    "shift_duration": ("integer", "Shift length in seconds: shift_start_total_seconds - shift_end_total_seconds "
                       "(empty when the shift ends before it starts)."),
    "start_elapsed_seconds": ("integer", "Game seconds elapsed at shift start."),
    "end_elapsed_seconds": ("integer", "Game seconds elapsed at shift end."),
    "duration_seconds": ("integer", "Length in seconds."),
    "home_team_strength": ("integer", "Home skaters on ice: filled home forward, defense and xtra slots."),
    "away_team_strength": ("integer", "Away skaters on ice: filled away forward, defense and xtra slots."),
    **{f"{venue}_{slot}": ("text", f"Jersey in the {venue} {slot} slot of the shift as tracked (empty when the "
                                   "slot is; fact_shift_players has the player_id).")
       for venue in ("home", "away")
       for slot in ("forward_1", "forward_2", "forward_3", "defense_1", "defense_2", "xtra", "goalie")},
    "situation": ("text", "Full Strength, Home PowerPlay or Away PowerPlay by the skaters on ice; home_en / "
                  "away_en when that side's net is empty (goalie slot empty); empty for a shift without players."),
    "start_zone": ("text", "Zone (o, n, d from the event team's view) of the shift's first event that has one."),
    "start_zone_id": ("text", "Dashboard zone key of start_zone: ZN01 offensive, ZN02 defensive, ZN03 neutral."),
    "end_zone": ("text", "Zone (o, n, d from the event team's view) of the shift's last event that has one."),
    "end_zone_id": ("text", "Dashboard zone key of end_zone: ZN01 offensive, ZN02 defensive, ZN03 neutral."),
    "cf": ("integer", "Home shot attempts (Corsi: on goal, blocked, missed; goals tracked without a shot count "
           "once) during the shift."),
    "ca": ("integer", "Away shot attempts (Corsi) during the shift."),
    "ff": ("integer", "Home unblocked shot attempts (Fenwick) during the shift."),
    "fa": ("integer", "Away unblocked shot attempts (Fenwick) during the shift."),
    "sf": ("integer", "Home shots on goal (saved or scored) during the shift."),
    "sa": ("integer", "Away shots on goal (saved or scored) during the shift."),
    "ff_pct": ("numeric", "Fenwick for / (for + against) x 100, 1 decimal (50 when no unblocked attempts)."),
    "logical_shift_number": ("integer", "The player's logical shift in the game: per player, ordered by "
                             "shift_index, starting at 1 and increasing whenever a shift row does not directly "
                             "follow his previous one (shift_index + 1)."),
    "is_first_segment": ("boolean", "The row is the first shift row of its logical shift."),
    "home_goalie_player_id": ("text", "Home goalie on ice."),
    "away_goalie_player_id": ("text", "Away goalie on ice."),
    "shift_player_id": ("text", "Key {shift_id}_{h|a}{slot}."),
    "slot": ("text", "Line slot: forward_1..3, defense_1..2, xtra, goalie."),
    "is_goalie": ("boolean", "Player is in the goalie slot."),
    # goals, shots, faceoffs, penalties
    "goal_id": ("text", "Goal key (the goal's event_id)."),
    "scorer_player_id": ("text", "Goal scorer (event team player 1)."),
    "scorer_jersey": ("text", "Scorer's jersey."),
    "primary_assist_player_id": ("text", "Primary assister, where tracked."),
    "secondary_assist_player_id": ("text", "Secondary assister, where tracked."),
    "goalie_player_id": ("text", "Opposing goalie on ice."),
    "shot_id": ("text", "Shot key (the shot's event_id)."),
    "is_on_goal": ("boolean", "Shot on goal (saved or scored)."),
    "is_blocked": ("boolean", "Shot blocked (by an opponent or a teammate)."),
    "blocker_player_id": ("text", "Opponent who blocked the shot: the row tagged BlockedShot, else the "
                          "opponent's player 1 of a Shot_Blocked event."),
    "is_missed": ("boolean", "Shot missed the net."),
    "faceoff_id": ("text", "Faceoff key (its event_id)."),
    "winner_team_id": ("text", "Team that won the draw."),
    "winner_player_id": ("text", "Player who won the draw."),
    "loser_team_id": ("text", "Team that lost the draw."),
    "loser_player_id": ("text", "Player who lost the draw."),
    "penalty_id": ("text", "Penalty key (its event_id)."),
    # game stats
    "shots": ("integer", "Shot attempts (Shot events)."),
    "sog": ("integer", "Shots on goal (saved or scored)."),
    "blocks": ("integer", "Opponent shots blocked (Shot_Blocked events, credited to the blocker)."),
    "periods_covered": ("text", "Periods the row's tracked figures cover, e.g. 1,2,3 (4 = overtime); a partial "
                        "game covers only the periods tracked in both the events and the shifts sheet."),
    "fo_wins": ("integer", "Faceoffs won."),
    "fo_losses": ("integer", "Faceoffs lost."),
    "fo_total": ("integer", "Faceoffs taken (won plus lost)."),
    "fo_pct": ("numeric", "Faceoffs won / taken x 100, 1 decimal (0 when none taken)."),
    "cf_pct": ("numeric", "Corsi for / (for + against) x 100, 1 decimal (50 when no attempts)."),
    "shooting_pct": ("numeric", "Goals / shots on goal x 100, 1 decimal (0 when no shots on goal)."),
    "hits": ("integer", "Hits (player 1 of Hit events; a non-contact league normally has none)."),
    "pass_attempts": ("integer", "Passes attempted (player 1 of Pass events)."),
    "pass_completed": ("integer", "Passes completed (Pass events whose detail is Pass_Completed)."),
    "pass_pct": ("numeric", "Passes completed / attempted x 100, 1 decimal (0 when none)."),
    "zone_entries": ("integer", "Zone entries (player 1 of Zone_Entry events)."),
    "zone_entries_successful": ("integer", "Zone entries tracked successful (event_successful s)."),
    "zone_exits": ("integer", "Zone exits (player 1 of Zone_Exit events)."),
    "zone_exits_successful": ("integer", "Zone exits tracked successful (event_successful s)."),
    "primary_assists": ("integer", "Primary assists counted from tracking (AssistPrimary)."),
    "secondary_assists": ("integer", "Secondary assists counted from tracking (AssistSecondary)."),
    "ev_goals": ("integer", "Goals at even strength (same skaters on ice per the event's shift)."),
    "pp_goals": ("integer", "Power-play goals (scorer's team had more skaters per the event's shift)."),
    "sh_goals": ("integer", "Short-handed goals (scorer's team had fewer skaters per the event's shift)."),
    "toi_minutes": ("numeric", "Time on ice in minutes (toi_seconds / 60), 2 decimals."),
    "avg_shift": ("numeric", "Average shift length in seconds (toi_seconds / shift_count), 1 decimal."),
    "goals_per_60": ("numeric", "Goals per 60 minutes on ice."),
    "assists_per_60": ("numeric", "Assists per 60 minutes on ice."),
    "points_per_60": ("numeric", "Points per 60 minutes on ice."),
    "plus_ev": ("integer", "Even-strength goals for while on ice."),
    "minus_ev": ("integer", "Even-strength goals against while on ice."),
    "plus_minus_ev": ("integer", "Even-strength plus-minus (plus_ev - minus_ev)."),
    "plus_minus_total": ("integer", "Sum of the team's player plus-minus (all strengths)."),
    "opponent_team_name": ("text", "Opponent's short team name (per dim_schedule)."),
    "giveaways": ("integer", "Giveaways."),
    "takeaways": ("integer", "Takeaways."),
    "penalties": ("integer", "Penalties taken."),
    "toi_seconds": ("integer", "Time on ice in seconds, from shifts."),
    "shift_count": ("integer", "Shifts played, consecutive shift rows of the player merged into one logical shift "
                    "(the dashboard's definition; the shifts sheet splits a shift at every stoppage)."),
    "plus_minus": ("integer", "Goals for minus goals against while on ice, at any strength (the dashboard's "
                   "definition: power-play goals count; plus_minus_ev is the even-strength figure)."),
    "corsi_for": ("integer", "Team shot attempts while on ice."),
    "corsi_against": ("integer", "Opponent shot attempts while on ice."),
    "fenwick_for": ("integer", "Team unblocked shot attempts while on ice (corsi_for without blocked shots)."),
    "fenwick_against": ("integer", "Opponent unblocked shot attempts while on ice (corsi_against without blocked "
                        "shots)."),
    "cf_pct_rel": ("numeric", "cf_pct - 50 (Corsi-for % relative to an even 50%)."),
    "ff_pct_rel": ("numeric", "ff_pct - 50 (Fenwick-for % relative to an even 50%)."),
    "g": ("integer", "Same as goals (the alias the player page reads as a fallback)."),
    "a": ("integer", "Same as assists (the alias the player page reads as a fallback)."),
    "pts": ("integer", "Same as points (the alias the player page reads as a fallback)."),
    "shots_blocked": ("integer", "The player's shot attempts that were blocked (player 1 of Shot events whose detail "
                      "contains Blocked)."),
    "shots_missed": ("integer", "The player's shot attempts that missed the net (player 1 of Shot_Missed / "
                     "Shot_MissedPost events)."),
    "team_game_id": ("text", "Key {game_id}{team_id}."),
    "official_goals": ("integer", "Goals per the official score or box score."),
    "tracked_goals": ("integer", "Goals counted from tracking."),
    "goalie_game_id": ("text", "Key {game_id}{team_id}{player_id or J+jersey}."),
    "shots_against": ("integer", "Shots on goal faced."),
    "saves": ("integer", "Saves."),
    "save_pct": ("numeric", "Saves / shots against x 100 on a 0-100 scale, 1 decimal (100 when no shots), as the "
                 "dashboard reads it."),
    # season stats
    "player_season_id": ("text", "Key {season_id}{player_id}."),
    "goalie_season_id": ("text", "Key {season_id}{player_id}."),
    "team_season_id": ("text", "Key {season_id}{team_id}."),
    "points_per_game": ("numeric", "Points per game (2 decimals)."),
    "goals_per_game": ("numeric", "Goals per game (2 decimals)."),
    "assists_per_game": ("numeric", "Assists per game (2 decimals)."),
    "pim_per_game": ("numeric", "Penalty minutes per game (2 decimals)."),
    "gaa": ("numeric", "Goals against per game played (not time-weighted), 2 decimals."),
    "win_pct": ("numeric", "Wins / games played x 100, 1 decimal."),
    "shutout_pct": ("numeric", "Shutouts / games played x 100, 1 decimal."),
    "goals_for_per_game": ("numeric", "Goals for per game (2 decimals)."),
    "goals_against_per_game": ("numeric", "Goals against per game (2 decimals)."),
    "career_games": ("integer", "Games played over the career (every season and game type)."),
    "career_goals": ("integer", "Goals over the career."),
    "career_assists": ("integer", "Assists over the career."),
    "career_points": ("integer", "Points over the career."),
    "career_pim": ("integer", "Penalty minutes over the career."),
    "career_wins": ("integer", "Wins over the career."),
    "career_losses": ("integer", "Losses over the career."),
    "career_goals_against": ("integer", "Goals against over the career."),
    "career_shutouts": ("integer", "Shutouts over the career."),
    "career_gaa": ("numeric", "Career goals against per game, 2 decimals."),
    "career_win_pct": ("numeric", "Career wins / games x 100, 1 decimal."),
    "career_shutout_pct": ("numeric", "Career shutouts / games x 100, 1 decimal."),
    "wins": ("integer", "Wins."),
    "losses": ("integer", "Losses."),
    "ties": ("integer", "Ties."),
    "goals_for": ("integer", "Goals scored."),
    "goal_diff": ("integer", "Goals for minus against."),
    # game status and video
    "home_team": ("text", "Home team's short name per dim_schedule."),
    "away_team": ("text", "Away team's short name per dim_schedule."),
    "official_home_goals": ("integer", "Official home goals (dim_schedule.home_total_goals)."),
    "official_away_goals": ("integer", "Official away goals (dim_schedule.away_total_goals)."),
    "tracking_status": ("text", "Tracking completeness per qa_game_completeness: COMPLETE, PARTIAL, TEMPLATE, ERROR "
                        "(the workbook is INVALID or unreadable) or NO_FILE (no tracking workbook)."),
    "video_key": ("text", "Video key: the video sheet's Key, else V{game_id} + the first 4 letters of its type."),
    "video_type": ("text", "Full_Ice, Broadcast, Highlights, Goalie, Overhead or Other (default Full_Ice)."),
    "video_type_id": ("text", "Key of the video type (VT0001 = Full_Ice ... VT0006 = Other)."),
    "video_description": ("text", "Description from the video sheet."),
    "period_1_start": ("numeric", "Video time in seconds where period 1 starts (the sheet's start offset)."),
    "period_2_start": ("numeric", "Video time in seconds where period 2 starts."),
    "period_3_start": ("numeric", "Video time in seconds where period 3 starts."),
    # locations (the tracker's XY exports)
    "shot_x": ("numeric", "Shot location x as exported by the tracker."),
    "shot_y": ("numeric", "Shot location y as exported by the tracker."),
    "shot_result": ("text", "The shot's event detail, e.g. Shot_OnNetSaved."),
    "player_xy_id": ("text", "Key {event_id}_J{jersey}_{point_number}."),
    "puck_xy_id": ("text", "Key {event_id}_{point_number}."),
    "player_role": ("text", "The player's role in the event: event_player_N (the event team's Nth player) or "
                    "opp_player_N (the opponent's), the dashboard's values; dim_player_role's key (the events sheet "
                    "writes event_team_player_N)."),
    "is_event_team": ("boolean", "The player is on the event team."),
    "point_number": ("integer", "Order of the point along the path (1 = first)."),
    "x": ("numeric", "Location x as exported by the tracker."),
    "y": ("numeric", "Location y as exported by the tracker."),
    "point_count": ("integer", "Points on the puck's path."),
    # qa
    "match": ("boolean", "Tracked value equals the official value."),
    "official_assists": ("integer", "Assists per the official box score."),
    "official_points": ("integer", "Goals plus assists per the official box score."),
    "tracked_assists": ("integer", "Assists counted from tracking."),
    "goals_match": ("boolean", "Tracked goals equal official goals."),
    "assists_match": ("boolean", "Tracked assists equal official assists."),
    "qa_scorer_id": ("text", "Key {game_id}{team_id}{player_id or J+jersey}."),
    "status": ("text", "COMPLETE, PARTIAL, TEMPLATE, INVALID or NO_WORKBOOK."),
    "reason": ("text", "Why the game has its status."),
    "periods_tracked": ("integer", "Periods tracked in both the events and the shifts sheet."),
    "event_periods": ("text", "Periods the events sheet covers, e.g. 1,2,3."),
    "shift_periods": ("text", "Periods the shifts sheet covers, e.g. 1,2,3."),
    "event_count": ("integer", "Events tracked."),
    "player_link_rate": ("numeric", "Share of player rows linked to a league player id."),
    "home_away_swapped": ("boolean", "Workbook had home and away swapped against the schedule."),
    "file": ("text", "Input file, relative to the data folder."),
    "issue_id": ("text", "Deterministic key of the issue."),
    "kind": ("text", "Short stable code of the rule that found the issue (etl.issues.KINDS), e.g. venue_conflict."),
    "sheet": ("text", "Sheet name."),
    "row": ("integer", "Excel row number (header = row 1)."),
    "column_name": ("text", "Column name."),
    "problem": ("text", "What is wrong."),
    "action": ("text", "What the ETL did about it."),
    # declared with the analytics vocabulary (etl/catalog_analytics.py), also used by fact_events
    **{name: ANALYTICS_COLUMNS[name] for name in ("goalie_name", "is_rebound")},
}


def _cols(spec: str, required: tuple[str, ...] = (), describe: dict[str, str] | None = None) -> tuple[Column, ...]:
    """Columns of ``spec`` with their shared type; ``describe`` may sharpen a description for one table
    (the type never changes: one name, one type)."""
    names = spec.split()
    describe = describe or {}
    unknown = set(describe) - set(names)
    if unknown:
        raise KeyError(f"descriptions for undeclared columns {sorted(unknown)}")
    out = []
    for name in names:
        type_, desc = COLUMNS[name]
        out.append(Column(name, type_, describe.get(name, desc), nullable=name not in required))
    return tuple(out)


def _table(
    name: str,
    category: str,
    description: str,
    columns: str,
    pk: str,
    grain: str,
    *,
    tags: tuple[str, ...] = (),
    upstream: tuple[str, ...] = (),
    required: str = "",
    game_scoped: bool | None = None,
    describe: dict[str, str] | None = None,
) -> Table:
    primary_key = tuple(pk.split())
    cols = _cols(columns, tuple(primary_key) + tuple(required.split()), describe)
    scoped = game_scoped if game_scoped is not None else (grain == "game" and "game_id" in columns.split())
    return Table(name, category, description, cols, primary_key, grain, tags, upstream, scoped)


_VOCAB = "code name is_standard"
# Which goals/assists a table counts: the official box score (fact_gameroster) or tracking.
_OFFICIAL = {name: f"{COLUMNS[name][1].rstrip('.')} per the official box score (fact_gameroster), not tracking."
             for name in ("goals", "assists", "points", "goals_against", "shutouts", "pim", "games_played")}
_TRACKED = {
    "goals": "Goals counted from tracking (scorer of a Goal_Scored event) within periods_covered.",
    "assists": "Assists counted from tracking (passes tagged AssistPrimary/AssistSecondary) within periods_covered.",
    "points": "Tracked goals plus tracked assists within periods_covered.",
}

_SEASON_DISPLAY = {
    "game_type": "Game type of the schedule (Regular, Playoffs, ...; blank reads as Regular) or All for the "
                 "row summing every game type.",
    "team_id": "Team of the player's first roster row in the season.",
    "team_name": "Short name of that team.",
    "position": "Position of the player's first roster row in the season.",
}

TABLES: tuple[Table, ...] = (
    # ---- dims from the master workbook
    _table("dim_player", "dim", "Registered players.",
           "player_id player_name player_first_name player_last_name player_full_name player_primary_position "
           "current_skill_rating player_hand birth_year player_gender highest_beer_league player_leadership "
           "player_norad_current_team_id team_id player_norad_current_team jersey_number player_rating_ly "
           "player_url other_url player_image", "player_id", "master",
           describe={"team_id": "Same as player_norad_current_team_id (the name the dashboard also reads)."}),
    _table("dim_team", "dim", "Teams of both leagues.",
           "team_id team_name long_team_name team_cd league_id is_norad team_color1 team_color2 primary_color "
           "team_logo team_url", "team_id", "master", required="team_name"),
    _table("dim_league", "dim", "Leagues.", "league_id league", "league_id", "master"),
    _table("dim_season", "dim", "Seasons.", "season_id season session league_id start_date",
           "season_id", "master"),
    _table("dim_schedule", "dim", "Games with the official final score; power-play and video columns from the game's "
           "tracking and video workbooks where it has them.",
           "game_id season season_id date game_time home_team_id away_team_id home_team_name "
           "away_team_name game_type playoff_round last_period_type home_total_goals away_total_goals "
           "official_home_goals official_away_goals game_url video_url video_start_offset video_url_1 video_url_2 "
           "home_pp_goals away_pp_goals home_pp_opportunities away_pp_opportunities home_pk_goals_against "
           "away_pk_goals_against home_pk_opportunities away_pk_opportunities home_team_period1_goals "
           "home_team_period2_goals home_team_period3_goals "
           "away_team_period1_goals away_team_period2_goals away_team_period3_goals schedule_type include "
           "league_id", "game_id", "master", upstream=("dim_team", "dim_season"),
           describe={"league_id": "League code of the game's season (dim_season.league_id)."}),
    _table("dim_position", "dim", "Positions.", "position_id name", "position_id", "master"),
    _table("dim_venue", "dim", "Home and away.", "venue_id venue_abbrev name", "venue_id", "master"),
    _table("dim_period", "dim", "Periods.", "period_id period name period_seconds", "period_id", "master"),
    _table("dim_zone", "dim", "Rink zones from the event team's view.", "zone_id name", "zone_id", "master"),
    _table("dim_player_role", "dim", "Player roles within an event.",
           "player_role side role_number", "player_role", "master"),
    # ---- vocab dims: standard codes plus every code seen in tracking (keys are the codes)
    _table("dim_event_type", "dim", "Event types.", _VOCAB, "code", "league", upstream=("fact_events",)),
    _table("dim_event_detail", "dim", "Event details.", _VOCAB, "code", "league",
           upstream=("fact_events",)),
    _table("dim_event_detail_2", "dim", "Second event details.", _VOCAB, "code", "league",
           upstream=("fact_events",)),
    _table("dim_play_detail", "dim", "Play details.", _VOCAB, "code", "league",
           upstream=("fact_event_players",)),
    _table("dim_strength", "dim", "Strength situations.", "strength_id skaters_for skaters_against",
           "strength_id", "league", upstream=("fact_shifts",)),
    _table("dim_shift_start_type", "dim", "How shifts start.", _VOCAB, "code", "league",
           upstream=("fact_shifts",)),
    _table("dim_shift_stop_type", "dim", "How shifts end.", _VOCAB, "code", "league",
           upstream=("fact_shifts",)),
    # ---- facts from the master workbook
    _table("fact_gameroster", "fact", "Official per-game box score (jersey to player).",
           "player_game_id game_id team_id team_name opp_team_id opp_team_name team_venue player_id "
           "player_full_name player_game_number player_position games_played goals assist points goals_against "
           "pim pim_total shutouts is_sub sub skill_rating player_skill_rating season season_id date",
           "player_game_id", "master", tags=("basic",), upstream=("dim_schedule", "dim_player", "dim_team"),
           required="game_id team_id", game_scoped=True,
           describe={"team_venue": "home or away of team_id per dim_schedule (the roster's own team_venue is "
                                   "checked against it: qa_data_issues kind venue_conflict).",
                     "points": "Official goals plus assists (box score).",
                     "season_id": "Season of the game per dim_schedule.",
                     "opp_team_id": "The other team of the game per dim_schedule."}),
    _table("fact_registration", "fact", "Season registrations (no contact details).",
           "player_season_registration_id player_id season_id season position restricted "
           "norad_experience skill_rating is_sub drafted_team_id",
           "player_season_registration_id", "master"),
    _table("fact_draft", "fact", "Draft picks.",
           "player_draft_id player_id team_id season_id season draft_round overall_draft_position "
           "restricted skill_rating", "player_draft_id", "master"),
    _table("fact_leadership", "fact", "Captains and assistants per season.",
           "leadership_id player_id team_id season_id season leadership skill_rating",
           "leadership_id", "master"),
    # ---- facts from tracking
    _table("fact_events", "fact", "One row per tracked event.",
           "event_id game_id event_index period period_id time_start_total_seconds time_end_total_seconds "
           "event_start_min event_start_sec event_end_min event_end_sec duration elapsed_seconds "
           "running_video_time event_type event_detail event_detail_2 event_successful event_team_id team_venue "
           "opp_team_id player_id player_role player_team zone_id event_team_zone play_detail1 play_detail_2 "
           "shift_id shift_key strength_id strength is_goal is_save is_rebound is_highlight player_count "
           "event_player_ids opp_player_ids season_id home_team_id away_team_id home_team away_team player_name "
           "player_game_number event_player_2_name_x shooter_player_id goalie_player_id goalie_name "
           "linked_event_key sequence_key play_key puck_x_start puck_y_start source_row",
           "event_id", "game", tags=("tracking",),
           upstream=("dim_schedule", "dim_player"),
           required="game_id event_index",
           describe={"team_venue": "home or away of the event team (per dim_schedule).",
                     "player_id": "Event team's player 1 (the player the event is credited to).",
                     "player_role": "Role of the row's player: event_player_1 when the event has an event-team "
                                    "player (player_id is that player), else empty.",
                     "player_name": "Full name of player 1 (dim_player.player_full_name).",
                     "player_game_number": "Jersey of player 1 as tracked.",
                     "shift_key": "Same value as shift_id (the event's shift; the dashboard's linking key; "
                                  "shift_id stays the key into fact_shifts).",
                     "strength": "Skaters on ice per side in the event's shift, home first, e.g. 5v5, 5v4; ENH/ENA "
                                 "when the home/away net is empty (the dashboard's label; strength_id is the "
                                 "event-team-first key into dim_strength).",
                     "running_video_time": "Seconds from the start of the game video to the event's start: the "
                                           "events sheet's running_video_time, else (period - 1) x 1200 + (1200 - "
                                           "clock) + (period - 1) x 900 (the contract's estimate).",
                     "is_rebound": "The event is a Rebound (event_type Rebound) (0/1) (the dashboard's meaning "
                                   "here; fact_shot_xg.is_rebound flags the shot that follows a rebound).",
                     "goalie_player_id": "Goalie facing the shot, on Shot/Goal events that were saved or scored "
                                         "only: the opposing goalie on ice per the event's shift, else the "
                                         "opponent's player 1 (as fact_goals); empty on other events.",
                     "goalie_name": "Full name of goalie_player_id (dim_player.player_full_name)."}),
    _table("fact_event_players", "fact", "One row per player per event.",
           "event_player_id event_id game_id player_role side role_number team_id venue jersey "
           "player_id play_detail1 play_detail_2 source_row", "event_player_id", "game",
           tags=("tracking",), upstream=("fact_events", "fact_gameroster"), required="event_id game_id"),
    _table("fact_shifts", "fact", "One row per line change.",
           "shift_id shift_key game_id season_id home_team_id away_team_id home_team away_team shift_index "
           "period period_id shift_start_min shift_start_sec shift_end_min shift_end_sec shift_start_total_seconds "
           "shift_end_total_seconds start_elapsed_seconds end_elapsed_seconds shift_duration running_video_time "
           "shift_start_type shift_stop_type home_forward_1 home_forward_2 home_forward_3 home_defense_1 "
           "home_defense_2 home_xtra home_goalie away_forward_1 away_forward_2 away_forward_3 away_defense_1 "
           "away_defense_2 away_xtra away_goalie home_team_strength away_team_strength strength strength_id "
           "situation home_goalie_player_id away_goalie_player_id start_zone start_zone_id end_zone end_zone_id "
           "cf ca ff fa sf sa cf_pct ff_pct fo_pct giveaways takeaways zone_entries zone_exits player_id source_row",
           "shift_id", "game", tags=("tracking",),
           upstream=("dim_schedule", "fact_gameroster"), required="game_id",
           describe={"strength_id": "Skaters on ice, home first, e.g. 5v4 (key into dim_strength; strength is "
                                    "the dashboard's label).",
                     "cf_pct": "Home Corsi for % in the shift: cf / (cf + ca) x 100, 1 decimal (50 when no "
                               "attempts).",
                     "ff_pct": "Home Fenwick for % in the shift: ff / (ff + fa) x 100, 1 decimal (50 when no "
                               "unblocked attempts).",
                     "fo_pct": "Home faceoffs won / faceoffs in the shift x 100, 1 decimal (0 when none).",
                     "giveaways": "Giveaways (event detail Giveaway) of either team during the shift.",
                     "takeaways": "Takeaways (event detail Takeaway) of either team during the shift.",
                     "zone_entries": "Zone entries (Zone_Entry events) of either team during the shift.",
                     "zone_exits": "Zone exits (Zone_Exit events) of either team during the shift.",
                     "player_id": "Always empty: a shift row is a line change of both teams, not one player's. The "
                                  "dashboard's player game page filters fact_shifts on it (the contract: 'NOT a column "
                                  "of fact_shifts'); the column exists so that query answers (no rows) instead of "
                                  "failing. A player's shifts are fact_shift_players joined on shift_id."}),
    _table("fact_shift_players", "fact", "One row per player per shift.",
           "shift_player_id shift_id game_id team_id venue slot jersey player_id is_goalie "
           "duration_seconds logical_shift_number is_first_segment", "shift_player_id", "game", tags=("tracking",),
           upstream=("fact_shifts",), required="shift_id game_id"),
    _table("fact_goals", "fact", "Goals with scorer, assisters where known and strength.",
           "goal_id event_id game_id period clock_seconds elapsed_seconds team_id venue opp_team_id "
           "scorer_player_id scorer_jersey primary_assist_player_id secondary_assist_player_id "
           "goalie_player_id event_detail_2 strength_id", "goal_id", "game", tags=("tracking",),
           upstream=("fact_event_players", "fact_shift_players"), required="game_id team_id"),
    _table("fact_shots", "fact", "Shot attempts.",
           "shot_id event_id game_id period elapsed_seconds team_id venue player_id event_detail "
           "event_detail_2 is_on_goal is_goal is_blocked is_missed blocker_player_id goalie_player_id "
           "strength_id",
           "shot_id", "game", tags=("tracking",), upstream=("fact_event_players", "fact_shift_players"),
           required="game_id"),
    _table("fact_faceoffs", "fact", "Faceoffs.",
           "faceoff_id event_id game_id period elapsed_seconds zone_id event_detail winner_team_id "
           "winner_player_id loser_team_id loser_player_id", "faceoff_id", "game", tags=("tracking",),
           upstream=("fact_event_players",), required="game_id"),
    _table("fact_penalties", "fact", "Penalties.",
           "penalty_id event_id game_id period elapsed_seconds team_id player_id event_detail "
           "event_detail_2", "penalty_id", "game", tags=("tracking",),
           upstream=("fact_event_players",), required="game_id"),
    _table("fact_player_game_stats", "fact",
           "Per player and game: one row per rostered player on the roster's team (tracked or not), per "
           "tracked player missing from the roster, and per unlinked jersey (team, jersey); tracked figures "
           "next to the official box score.",
           "player_game_id game_id player_id player_name team_id team_name opponent_team_name venue "
           "home_team_id away_team_id season_id date game_type jersey position periods_covered goals assists points "
           "g a pts official_goals official_assists official_points pim primary_assists secondary_assists ev_goals "
           "pp_goals sh_goals shots sog shots_blocked shots_missed blocks hits fo_wins fo_losses giveaways takeaways "
           "pass_attempts pass_completed zone_entries "
           "zone_entries_successful zone_exits zone_exits_successful toi_seconds shift_count plus_minus "
           "plus_minus_total plus_ev minus_ev corsi_for corsi_against fenwick_for fenwick_against plus_minus_ev "
           "fo_total fo_pct cf_pct ff_pct cf_pct_rel ff_pct_rel shooting_pct pass_pct "
           "toi_minutes avg_shift goals_per_60 assists_per_60 points_per_60", "player_game_id", "game",
           tags=("tracking",),
           upstream=("fact_goals", "fact_shots", "fact_faceoffs", "fact_shift_players", "fact_gameroster"),
           required="game_id team_id",
           describe={**_TRACKED,
                     "official_goals": "Goals per the official box score (fact_gameroster); empty when the "
                                       "player is not on the game's roster.",
                     "official_assists": "Assists per the official box score (fact_gameroster); empty when "
                                         "the player is not on the game's roster.",
                     "official_points": "Official goals plus official assists; empty when the player is not "
                                        "on the game's roster.",
                     "pim": "Penalty minutes per the official box score (fact_gameroster); empty when the player "
                            "is not on the game's roster.",
                     "position": "Position on the game's roster (fact_gameroster.player_position).",
                     "game_type": "Game type per dim_schedule (blank reads as Regular).",
                     "g": "Same as goals (tracked; the alias the player page reads as a fallback).",
                     "a": "Same as assists (tracked; the alias the player page reads as a fallback).",
                     "pts": "Same as points (tracked; the alias the player page reads as a fallback).",
                     "plus_minus_total": "Same as plus_minus: goals for minus goals against while on ice at any "
                                         "strength (the old warehouse's plus_total - minus_total)."}),
    _table("fact_team_game_stats", "fact", "Per team and game, from tracking.",
           "team_game_id game_id team_id team_name opp_team_id venue home_team_id away_team_id season_id date "
           "game_type periods_covered goals assists points official_goals shots sog shooting_pct blocks hits "
           "pass_attempts pass_completed fo_wins fo_losses toi_seconds plus_minus_total giveaways takeaways "
           "penalties corsi_for corsi_against fenwick_for fenwick_against cf_pct", "team_game_id", "game",
           tags=("tracking",),
           upstream=("fact_goals", "fact_shots", "fact_faceoffs"), required="game_id team_id",
           describe={"goals": _TRACKED["goals"], "assists": "Sum of the team's player rows' tracked assists.",
                     "points": "Tracked goals plus tracked assists.",
                     "toi_seconds": "Sum of the team's player rows' time on ice.",
                     "fenwick_for": "Sum of the team's skaters' on-ice fenwick_for (fact_player_game_stats), as the "
                                    "dashboard defines it: unlike corsi_for (the team's own attempts) it counts "
                                    "each unblocked attempt once per skater on ice.",
                     "fenwick_against": "Sum of the team's skaters' on-ice fenwick_against (see fenwick_for).",
                     "game_type": "Game type per dim_schedule (blank reads as Regular).",
                     "official_goals": "Official goals of the team in periods_covered: dim_schedule's per-period "
                                       "goals where it has them, else the final score when every regulation "
                                       "period is covered."}),
    _table("fact_goalie_game_stats", "fact", "Per goalie and game, from tracking.",
           "goalie_game_id game_id team_id team_name venue home_team_id away_team_id player_id player_name jersey "
           "season_id date "
           "periods_covered shots_against saves goals_against save_pct toi_seconds", "goalie_game_id", "game",
           tags=("tracking",),
           upstream=("fact_shots", "fact_goals", "fact_shift_players"), required="game_id team_id",
           describe={"goals_against": "Goals allowed per tracking within periods_covered."}),
    _table("fact_player_season_stats_basic", "fact",
           "Season totals per skater and game type (Regular, Playoffs, ... and All = every game type) from the "
           "official box score; goalie rows of the roster are in the goalie table.",
           "player_season_id game_type season_id season player_id player_name team_id team_name position "
           "games_played goals assists points pim points_per_game goals_per_game assists_per_game pim_per_game "
           "cf_pct shooting_pct",
           "player_season_id game_type", "master", tags=("basic",),
           upstream=("fact_gameroster", "dim_schedule", "dim_player", "dim_team"),
           describe={**{k: v for k, v in _OFFICIAL.items() if k in ("goals", "assists", "points", "pim",
                                                                     "games_played")},
                     **_SEASON_DISPLAY,
                     "cf_pct": "Corsi for % over the player's tracked games of the row (fact_player_game_stats): "
                               "sum(corsi_for) / (sum(corsi_for) + sum(corsi_against)) x 100, 1 decimal; empty "
                               "when none of his games is tracked, 50 when tracked without attempts.",
                     "shooting_pct": "Tracked goals / tracked shots on goal x 100 over the player's tracked games "
                                     "of the row (fact_player_game_stats), 1 decimal; empty when none of his games "
                                     "is tracked, 0 when tracked without shots on goal."}),
    _table("fact_goalie_season_stats_basic", "fact",
           "Season totals per goalie and game type (and All) from the official box score; wins, losses and ties "
           "from his team's official final score in each game he played.",
           "goalie_season_id game_type season_id season player_id player_name team_id team_name games_played "
           "wins losses ties win_pct goals_against gaa shutouts shutout_pct",
           "goalie_season_id game_type", "master", tags=("basic",),
           upstream=("fact_gameroster", "dim_schedule", "dim_player", "dim_team"),
           describe={**{k: v for k, v in _OFFICIAL.items() if k in ("goals_against", "shutouts", "games_played")},
                     **{k: v for k, v in _SEASON_DISPLAY.items() if k != "position"},
                     "wins": "Games (with both official scores) his team won.",
                     "losses": "Games (with both official scores) his team lost.",
                     "ties": "Games (with both official scores) that ended level."}),
    _table("fact_team_season_stats_basic", "fact",
           "Season standings per team and game type (and All) from the official final scores of played games.",
           "team_season_id game_type season_id season team_id team_name games_played wins losses ties points "
           "win_pct goals_for goals_against goal_diff goals_for_per_game goals_against_per_game",
           "team_season_id game_type", "master", tags=("basic",), upstream=("dim_schedule",),
           describe={"goals_for": "Goals scored per the official final scores (dim_schedule), not tracking.",
                     "goals_against": "Goals allowed per the official final scores (dim_schedule), not "
                                      "tracking.",
                     "points": "Standings points: 2 per win, 1 per tie.",
                     "win_pct": "Points percentage: points / (2 x games played) x 100, 1 decimal.",
                     "game_type": _SEASON_DISPLAY["game_type"]}),
    _table("fact_player_career_stats_basic", "fact",
           "Career totals per skater over every season and game type (the old table of this name had one row per "
           "season and game type; a career is what the dashboard's career page and milestones want).",
           "player_id player_name current_team position career_games career_goals career_assists career_points "
           "career_pim goals_per_game assists_per_game points_per_game pim_per_game", "player_id", "master",
           tags=("basic",), upstream=("fact_gameroster", "dim_schedule", "dim_player", "dim_team"),
           describe={"position": "Position of the player's latest roster row."}),
    _table("fact_goalie_career_stats_basic", "fact",
           "Career totals per goalie: the sum of his All season rows.",
           "player_id player_name current_team career_games career_wins career_losses career_goals_against "
           "career_gaa career_shutouts career_win_pct career_shutout_pct", "player_id", "master",
           tags=("basic",), upstream=("fact_goalie_season_stats_basic",)),
    _table("fact_video", "fact", "The game's videos, from <id>_video_times.xlsx beside its tracking workbook.",
           "video_key game_id season_id video_type video_type_id video_url video_description period_1_start "
           "period_2_start period_3_start", "video_key", "game", tags=("tracking",), upstream=("dim_schedule",),
           required="game_id", describe={"video_url": "Video URL: the first of Url_1, url, video_url, youtube_url."}),
    _table("fact_shot_xy", "fact", "Shot locations from the game folder's shots/<id>_<n>.csv exports (empty for a "
           "game without them), joined to fact_shots by the events sheet's linked_event_index.",
           "shot_id game_id team_id team_venue period period_id running_video_time player_id goalie_player_id "
           "is_goal shot_result shot_x shot_y",
           "shot_id", "game", tags=("tracking",), upstream=("fact_shots",), required="game_id"),
    _table("fact_player_xy_long", "fact", "Player locations per linked event from xy/event_locations/<id>_<n>.csv, one "
           "row per point (empty for a game without them).",
           "player_xy_id game_id event_id player_id player_name team_id team_venue player_role is_event_team "
           "point_number x y", "player_xy_id", "game", tags=("tracking",), upstream=("fact_event_players",),
           required="game_id"),
    _table("fact_puck_xy_long", "fact", "Puck path per linked event: the rows of xy/event_locations/<id>_<n>.csv whose "
           "Player is p, one row per point (empty for a game without them).",
           "puck_xy_id game_id event_id point_number x y", "puck_xy_id",
           "game", tags=("tracking",), upstream=("fact_events",), required="game_id"),
    _table("fact_puck_xy_wide", "fact", "One row per event with a puck path (see fact_puck_xy_long).",
           "event_id game_id period event_type event_detail point_count", "event_id", "game", tags=("tracking",),
           upstream=("fact_puck_xy_long",), required="game_id"),
    _table("fact_game_status", "fact", "Every scheduled game with its official score and tracking status.",
           "game_id game_date home_team away_team official_home_goals official_away_goals tracking_status",
           "game_id", "league", upstream=("dim_schedule", "qa_game_completeness"), required="tracking_status"),
    # ---- quality
    _table("qa_goal_verification", "qa", "Tracked goals against the official score, per game and team.",
           "game_id team_id venue periods_covered official_goals tracked_goals match", "game_id team_id", "game",
           upstream=("fact_goals", "dim_schedule"),
           describe={"periods_covered": "Periods compared: those the events sheet covers.",
                     "official_goals": "Official goals in periods_covered: dim_schedule's per-period goals where "
                                       "it has them, else the final score when every regulation period is "
                                       "covered; empty when unknown.",
                     "match": "Tracked goals equal official goals in periods_covered; empty when the official "
                              "figure is unknown."}),
    _table("qa_scorer_verification", "qa", "Tracked goals and assists against the box score, per player.",
           "qa_scorer_id game_id team_id player_id jersey official_goals tracked_goals official_assists "
           "tracked_assists goals_match assists_match", "qa_scorer_id", "game",
           upstream=("fact_goals", "fact_gameroster")),
    _table("qa_game_completeness", "qa",
           "Whether each game folder is complete, partial or unusable (one row per folder under games/).",
           "game_id status reason periods_tracked event_periods shift_periods event_count player_link_rate "
           "home_away_swapped file", "game_id", "game", upstream=("fact_events",), required="status",
           describe={"file": "Tracking workbook (or the game folder when it has none), relative to the data "
                             "folder."}),
    _table("qa_data_issues", "qa", "Every input problem found, with the action taken.",
           "issue_id game_id kind file sheet row column_name problem action", "issue_id", "game",
           # kind stays nullable in the warehouse so the column can be added to a table that already has rows;
           # the ETL fills it on every row (IssueLog requires it)
           required="problem action", game_scoped=True),
)

TABLES = with_analytics(TABLES, COLUMNS, _table)  # issue 13: analytics tables and columns (etl/catalog_analytics.py)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}


def get_table(name: str) -> Table:
    """The table called ``name``; KeyError with a readable message otherwise."""
    try:
        return TABLES_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}") from None


def catalog_version(tables: tuple[Table, ...] | list[Table] | None = None) -> str:
    """Short hash of the catalog (or of ``tables``): changes whenever any declaration changes."""
    payload = [
        {
            "name": t.name,
            "category": t.category,
            "tags": t.tags,
            "grain": t.grain,
            "pk": t.primary_key,
            "upstream": t.upstream,
            "game_scoped": t.game_scoped,
            "columns": [(c.name, c.type, c.nullable) for c in t.columns],
        }
        for t in (TABLES if tables is None else tables)
    ]
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return digest[:12]


# The views are catalog objects too, declared beside the tables (etl/views.py: the views the dashboard reads;
# etl/views_extra.py: the contract's other views); each reads catalog tables only.
from .views import VIEWS as _DASHBOARD_VIEWS  # noqa: E402
from .views import View  # noqa: E402
from .views_extra import VIEWS as _EXTRA_VIEWS  # noqa: E402

VIEWS: tuple[View, ...] = _DASHBOARD_VIEWS + _EXTRA_VIEWS
VIEWS_BY_NAME: dict[str, View] = {v.name: v for v in VIEWS}

__all__ = ["COLUMNS", "TABLES", "TABLES_BY_NAME", "VIEWS", "VIEWS_BY_NAME", "Column", "Table", "View",
           "catalog_version", "get_table"]


def _check_views() -> None:
    for view in VIEWS:
        unknown = [name for name in view.reads if name not in TABLES_BY_NAME]
        if unknown:
            raise KeyError(f"view {view.name} reads tables the catalog does not declare: {unknown}")


_check_views()
