"""The contract's other warehouse views (deployed by the old warehouse, not read by the dashboard's pages yet),
declared like ``etl/views.py``'s and joined to them in ``catalog.VIEWS``.

Where the old views were flawed, these do what the view plainly wants (noted on each view): season views read
the season tables' ``All`` rows unless the view is per game type (the old ones mixed every game-type row, listing a
player or team once per game type); views over ``dim_schedule`` keep only included games (and, for scores, played
ones); columns the old views read from tables or columns we never built (a goalie's quality start and game rating,
the per-period splits of skaters and goalies, a goalie's shots by attack context and rebound control, the old
advanced goalie season table) are computed in the view from the tracking tables, by the old builders' definitions;
a view over another view reads the tables instead, so that every catalog view depends on catalog tables only.
"""
from __future__ import annotations

from .analytics import weights as w
from .views import _PLAYED, View, _view

_RANKED = "player_id, player_name, team_name, season, season_id, game_type, games_played"


def _standings_current(game_type: str) -> str:
    return f"""SELECT team_id, team_name, season, season_id, game_type, games_played, wins, losses, ties, points,
                      goals_for, goals_against, goal_diff, goals_for_per_game, goals_against_per_game, win_pct,
                      RANK() OVER (ORDER BY points DESC, wins DESC, goal_diff DESC) AS standing
               FROM fact_team_season_stats_basic
               WHERE game_type = '{game_type}'
                 AND season_id = (SELECT season_id FROM fact_team_season_stats_basic WHERE game_type = '{game_type}'
                                  ORDER BY season DESC, season_id DESC LIMIT 1)"""


# A goalie's tracked game with the date and teams of an included game, his quality start (save % >= 91.7 or at
# most 2 goals against, unrounded save %, 100 without shots: etl/analytics/weights.py, as the goalie GAR counts it)
# and his game rating clamp(5 + (save % - 80) / 4 + 0.5 GSAx + 1 for a shutout, 1, 10), GSAx = xG of the shots on
# goal he faced (the fact_shots rows his shots_against counts, their fact_shot_xg.xg) minus goals against.
_GOALIE_GAME = """
    FROM (SELECT g.*, COALESCE(100.0 * g.saves / NULLIF(g.shots_against, 0), 100) AS raw_save_pct,
                 COALESCE(x.xg_against, 0) - g.goals_against AS gsax
          FROM fact_goalie_game_stats g
          LEFT JOIN (SELECT s.game_id, s.goalie_player_id, SUM(x.xg) AS xg_against
                     FROM fact_shots s JOIN fact_shot_xg x ON x.shot_id = s.shot_id
                     WHERE s.is_on_goal GROUP BY s.game_id, s.goalie_player_id) x
                 ON x.game_id = g.game_id AND x.goalie_player_id = g.player_id) gg
    JOIN dim_schedule s ON s.game_id = gg.game_id
    WHERE s.include"""
_QUALITY_START = (f"CASE WHEN gg.raw_save_pct >= {w.QUALITY_START_SAVE_PCT} OR gg.goals_against <= "
                  f"{w.QUALITY_START_MAX_GOALS} THEN 1 ELSE 0 END AS is_quality_start")
_GAME_RATING = ("ROUND(GREATEST(1, LEAST(10, 5 + (gg.raw_save_pct - 80) / 4 + 0.5 * gg.gsax "
                "+ CASE WHEN gg.goals_against = 0 THEN 1 ELSE 0 END)), 1) AS overall_game_rating")
_GOALIE_GAME_NOTE = ("is_quality_start (0/1: save % >= 91.7 or at most 2 goals against) and overall_game_rating "
                     "(clamp(5 + (save % - 80) / 4 + 0.5 x GSAx + 1 for a shutout, 1, 10), 1 decimal; GSAx = xG of "
                     "the shots on goal faced (fact_shot_xg, where the old builder used a count-based proxy) minus "
                     "goals against) are computed here; the old table columns were never built.")

# Played, included games unfolded to one row per team: the team's and the opponent's official goals.
_TEAM_GAMES = f"""
    SELECT game_id, date, game_time, home_team_id AS team_id, home_team_name AS team_name,
           away_team_name AS opponent, home_total_goals AS gf, away_total_goals AS ga
    FROM dim_schedule WHERE {_PLAYED}
    UNION ALL
    SELECT game_id, date, game_time, away_team_id, away_team_name, home_team_name, away_total_goals,
           home_total_goals
    FROM dim_schedule WHERE {_PLAYED}"""


def _covered(n: int, alias: str) -> str:
    """Period n lies in the row's periods_covered (its stats count only those periods)."""
    return f"'{n}' = ANY(STRING_TO_ARRAY({alias}.periods_covered, ','))"


def _per_period(column: str, n: int, alias: str, out: str) -> str:
    """Period n's figure of a per-period subquery ``x``, NULL for a period the game's tracking does not cover."""
    return (f"CASE WHEN {_covered(n, alias)} THEN COALESCE(SUM(x.{column}) FILTER (WHERE x.period = {n}), 0) END "
            f"AS {out}")


# A skater's goals (fact_goals scorer), assists (fact_goals primary and secondary assister), shot attempts
# (fact_shots) and time on ice (fact_shift_players of fact_shifts) per game and period: the per-period parts of
# fact_player_game_stats' goals, assists, shots and toi_seconds.
_PLAYER_PERIODS = """
    SELECT game_id, scorer_player_id AS player_id, period, 1 AS goals, 0 AS assists, 0 AS shots, 0 AS toi
    FROM fact_goals
    UNION ALL
    SELECT game_id, primary_assist_player_id, period, 0, 1, 0, 0 FROM fact_goals
    WHERE primary_assist_player_id IS NOT NULL
    UNION ALL
    SELECT game_id, secondary_assist_player_id, period, 0, 1, 0, 0 FROM fact_goals
    WHERE secondary_assist_player_id IS NOT NULL
    UNION ALL
    SELECT game_id, player_id, period, 0, 0, 1, 0 FROM fact_shots
    UNION ALL
    SELECT sp.game_id, sp.player_id, f.period, 0, 0, 0, sp.duration_seconds
    FROM fact_shift_players sp JOIN fact_shifts f ON f.shift_id = sp.shift_id"""

# A goalie's shots on goal faced and goals against per game and period (the fact_shots rows his shots_against
# counts), save % 0-100 (100 without shots) of the periods the game's tracking covers.
_GOALIE_PERIODS = """
    SELECT g.goalie_game_id, n.period, COUNT(s.shot_id) AS sa, COUNT(s.shot_id) FILTER (WHERE s.is_goal) AS ga,
           COUNT(s.shot_id) FILTER (WHERE NOT s.is_goal) AS saves,
           COALESCE(ROUND(100.0 * COUNT(s.shot_id) FILTER (WHERE NOT s.is_goal) / NULLIF(COUNT(s.shot_id), 0), 1),
                    100) AS sv
    FROM fact_goalie_game_stats g CROSS JOIN (VALUES (1), (2), (3)) n(period)
    LEFT JOIN fact_shots s ON s.game_id = g.game_id AND s.goalie_player_id = g.player_id AND s.period = n.period
                          AND s.is_on_goal
    WHERE n.period::text = ANY(STRING_TO_ARRAY(g.periods_covered, ','))
    GROUP BY g.goalie_game_id, n.period"""

# Per goalie game, the shots on goal he faced (the fact_shots rows his shots_against counts, in the periods his
# game's tracking covers) by attack context, the old goalie builder's: seconds since the shooting team's latest
# zone entry (Zone_Entry event) earlier in the period, rush < 5, quick attack 5-10, set play >= 10 or no entry.
_GOALIE_CONTEXT = """
    SELECT g.goalie_game_id,
           COUNT(*) FILTER (WHERE c.context = 'rush') AS rush_sa,
           COUNT(*) FILTER (WHERE c.context = 'rush' AND c.is_goal) AS rush_ga,
           COUNT(*) FILTER (WHERE c.context = 'quick') AS quick_sa,
           COUNT(*) FILTER (WHERE c.context = 'quick' AND c.is_goal) AS quick_ga,
           COUNT(*) FILTER (WHERE c.context = 'set') AS set_sa,
           COUNT(*) FILTER (WHERE c.context = 'set' AND c.is_goal) AS set_ga
    FROM fact_goalie_game_stats g
    JOIN (SELECT s.game_id, s.goalie_player_id, s.period, s.is_goal,
                 CASE WHEN z.since >= 0 AND z.since < 5 THEN 'rush' WHEN z.since >= 5 AND z.since < 10 THEN 'quick'
                      ELSE 'set' END AS context
          FROM fact_shots s JOIN fact_events se ON se.event_id = s.event_id
          LEFT JOIN LATERAL (SELECT s.elapsed_seconds - e.elapsed_seconds AS since FROM fact_events e
                             WHERE e.game_id = s.game_id AND e.period = s.period AND e.event_index < se.event_index
                               AND e.event_type = 'Zone_Entry_Exit' AND e.event_detail = 'Zone_Entry'
                               AND e.event_team_id = s.team_id
                             ORDER BY e.event_index DESC LIMIT 1) z ON TRUE
          WHERE s.is_on_goal) c
      ON c.game_id = g.game_id AND c.goalie_player_id = g.player_id
     AND c.period::text = ANY(STRING_TO_ARRAY(g.periods_covered, ','))
    GROUP BY g.goalie_game_id"""

# Per goalie and game, the rebounds off his saves (the Rebound event right after one of his fact_saves events; it
# carries his team) and those his team recovered (Rebound_TeamRecovered).
_GOALIE_REBOUNDS = """
    SELECT sv.game_id, sv.goalie_player_id, COUNT(*) AS rebounds,
           COUNT(*) FILTER (WHERE r.event_detail = 'Rebound_TeamRecovered') AS team_recovered
    FROM (SELECT event_type, event_detail, LAG(event_id) OVER (PARTITION BY game_id ORDER BY event_index) AS prev_id
          FROM fact_events) r
    JOIN fact_saves sv ON sv.event_id = r.prev_id
    WHERE r.event_type = 'Rebound'
    GROUP BY sv.game_id, sv.goalie_player_id"""


# Per goalie game, the shots on goal he faced (the fact_shots rows his shots_against counts) with the number of
# those in the same sequence (fact_events.sequence_key), counted by the old goalie builder's thresholds
# (etl/analytics/weights.py): single shot (1), multi-shot (>= 2) and sustained pressure (>= 4) shots and goals,
# the longest sequence and the number of sequences.
_MULTI = f"x.sequence_shots >= {int(w.PRESSURE_MULTI_SHOT)}"
_SUSTAINED = f"x.sequence_shots >= {int(w.PRESSURE_SUSTAINED_SHOTS)}"
_GOALIE_SEQUENCES = f"""
    SELECT x.goalie_game_id,
           COUNT(*) FILTER (WHERE x.sequence_shots = 1 AND NOT x.is_goal) AS single_saves,
           COUNT(*) FILTER (WHERE {_MULTI}) AS multi_sa, COUNT(*) FILTER (WHERE {_MULTI} AND x.is_goal) AS multi_ga,
           COUNT(*) FILTER (WHERE {_SUSTAINED}) AS sustained_sa,
           COUNT(*) FILTER (WHERE {_SUSTAINED} AND x.is_goal) AS sustained_ga,
           MAX(x.sequence_shots) AS max_sequence, COUNT(*) AS sa, COUNT(DISTINCT x.sequence_key) AS sequences
    FROM (SELECT g.goalie_game_id, s.is_goal, e.sequence_key,
                 COUNT(*) OVER (PARTITION BY g.goalie_game_id, e.sequence_key) AS sequence_shots
          FROM fact_goalie_game_stats g
          JOIN fact_shots s ON s.game_id = g.game_id AND s.goalie_player_id = g.player_id AND s.is_on_goal
                           AND s.period::text = ANY(STRING_TO_ARRAY(g.periods_covered, ','))
          JOIN fact_events e ON e.event_id = s.event_id
          WHERE e.sequence_key <> '') x
    GROUP BY x.goalie_game_id"""


def _sv_pct(shots: str, goals: str) -> str:
    """Save % 0-100 (1 decimal) of shots with goals among them; NULL without shots."""
    return f"ROUND(100.0 * ({shots} - {goals}) / NULLIF({shots}, 0), 1)"


# The advanced goalie figures of the latest season with tracked goalie games, per goalie, from his tracked games.
_GOALIE_ADVANCED = f"""
    SELECT g.player_id, (ARRAY_AGG(g.player_name ORDER BY g.date DESC, g.game_id DESC))[1] AS player_name,
           (ARRAY_AGG(g.team_name ORDER BY g.date DESC, g.game_id DESC))[1] AS team_name,
           COUNT(*) AS games_played, SUM(g.saves) AS saves, SUM(g.goals_against) AS goals_against,
           COALESCE({_sv_pct("SUM(g.shots_against)", "SUM(g.goals_against)")}, 100) AS save_pct,
           {_sv_pct("SUM(c.rush_sa)", "SUM(c.rush_ga)")} AS rush_sv_pct,
           {_sv_pct("SUM(c.set_sa)", "SUM(c.set_ga)")} AS set_play_sv_pct,
           ROUND(100.0 * SUM(r.team_recovered) / NULLIF(SUM(r.rebounds), 0), 1) AS rebound_control_rate,
           ROUND(100.0 * AVG(CASE WHEN COALESCE(100.0 * g.saves / NULLIF(g.shots_against, 0), 100)
                                       >= {w.QUALITY_START_SAVE_PCT}
                                   OR g.goals_against <= {w.QUALITY_START_MAX_GOALS} THEN 1 ELSE 0 END), 1)
               AS quality_start_pct,
           ROUND(SUM(g.goalie_war), 3) AS season_war
    FROM fact_goalie_game_stats g
    LEFT JOIN ({_GOALIE_CONTEXT}) c ON c.goalie_game_id = g.goalie_game_id
    LEFT JOIN ({_GOALIE_REBOUNDS}) r ON r.game_id = g.game_id AND r.goalie_player_id = g.player_id
    WHERE g.player_id IS NOT NULL
      AND g.season_id = (SELECT season_id FROM fact_goalie_game_stats ORDER BY date DESC, game_id DESC LIMIT 1)
    GROUP BY g.player_id"""
_GOALIE_ADVANCED_NOTE = ("per goalie over his tracked games of the latest tracked season (the old season table "
                         "fact_goalie_season_stats was never built): save % 0-100; rush / set-play save % by the "
                         "seconds since his opponents' latest zone entry (< 5 s / >= 10 s or none, the old goalie "
                         "builder's split; NULL without such shots); rebound_control_rate = rebounds off his saves "
                         "that his team recovered / rebounds x 100; quality_start_pct = % of games with save % >= "
                         "91.7 or at most 2 goals against; season_war = the sum of his games' goalie_war.")

VIEWS: tuple[View, ...] = (
    # ---- standings
    _view("v_standings_by_game_type", "Standings of every season and game type (Regular, Playoffs and the All rows "
          "summing them), ranked within season and game type by points, wins, goal difference.",
          "fact_team_season_stats_basic",
          "team_id team_name season season_id game_type games_played wins losses ties points goals_for "
          "goals_against goal_diff win_pct standing",
          """SELECT team_id, team_name, season, season_id, game_type, games_played, wins, losses, ties, points,
                    goals_for, goals_against, goal_diff, win_pct,
                    RANK() OVER (PARTITION BY season_id, game_type ORDER BY points DESC, wins DESC, goal_diff DESC)
                        AS standing
             FROM fact_team_season_stats_basic"""),
    _view("v_standings_current_regular", "Regular-season standings of the latest season that has regular-season "
          "games.", "fact_team_season_stats_basic",
          "team_id team_name season season_id game_type games_played wins losses ties points goals_for "
          "goals_against goal_diff goals_for_per_game goals_against_per_game win_pct standing",
          _standings_current("Regular")),
    _view("v_standings_current_playoffs", "Playoff standings of the latest season that has playoff games (the "
          "previous season's while the current season's playoffs have not started).", "fact_team_season_stats_basic",
          "team_id team_name season season_id game_type games_played wins losses ties points goals_for "
          "goals_against goal_diff goals_for_per_game goals_against_per_game win_pct standing",
          _standings_current("Playoffs")),
    _view("v_standings_team_history", "All-time team totals from the season All rows, one row per team (its latest "
          "season's name); all_time_win_pct = wins / games x 100 (the contract's definition, not the standings' "
          "points-based win_pct).", "fact_team_season_stats_basic",
          "team_id team_name seasons total_games total_wins total_losses total_ties total_points total_gf total_ga "
          "all_time_win_pct all_time_gf_per_game",
          """SELECT team_id, (ARRAY_AGG(team_name ORDER BY season DESC, season_id DESC))[1] AS team_name,
                    COUNT(DISTINCT season_id) AS seasons, SUM(games_played) AS total_games, SUM(wins) AS total_wins,
                    SUM(losses) AS total_losses, SUM(ties) AS total_ties, SUM(points) AS total_points,
                    SUM(goals_for) AS total_gf, SUM(goals_against) AS total_ga,
                    ROUND(100.0 * SUM(wins) / NULLIF(SUM(games_played), 0), 1) AS all_time_win_pct,
                    ROUND(SUM(goals_for)::numeric / NULLIF(SUM(games_played), 0), 2) AS all_time_gf_per_game
             FROM fact_team_season_stats_basic WHERE game_type = 'All' GROUP BY team_id"""),
    # ---- leaderboards
    _view("v_leaderboard_points_by_game_type", "Skaters by points per season and game type (1+ games).",
          "fact_player_season_stats_basic",
          "player_id player_name team_name season season_id game_type games_played goals assists points "
          "points_per_game rank",
          f"""SELECT {_RANKED}, goals, assists, points, points_per_game,
                     RANK() OVER (PARTITION BY season_id, game_type ORDER BY points DESC) AS rank
              FROM fact_player_season_stats_basic WHERE games_played >= 1"""),
    _view("v_leaderboard_ppg", "Skaters by points per game per season (All rows, 5+ games).",
          "fact_player_season_stats_basic",
          "player_id player_name team_name season season_id game_type games_played points points_per_game "
          "season_rank",
          f"""SELECT {_RANKED}, points, points_per_game,
                     RANK() OVER (PARTITION BY season_id ORDER BY points_per_game DESC NULLS LAST) AS season_rank
              FROM fact_player_season_stats_basic WHERE game_type = 'All' AND games_played >= 5"""),
    _view("v_leaderboard_pim", "Skaters by penalty minutes per season (All rows).", "fact_player_season_stats_basic",
          "player_id player_name team_name season season_id game_type games_played pim pim_per_game season_rank",
          f"""SELECT {_RANKED}, pim, pim_per_game,
                     RANK() OVER (PARTITION BY season_id ORDER BY pim DESC) AS season_rank
              FROM fact_player_season_stats_basic WHERE game_type = 'All'"""),
    _view("v_leaderboard_career_points", "Skater careers by points (1+ games; one row per player, where the old "
          "career table repeated a player per season and game type).", "fact_player_career_stats_basic",
          "player_id player_name current_team position career_games career_goals career_assists career_points "
          "points_per_game rank",
          """SELECT player_id, player_name, current_team, position, career_games, career_goals, career_assists,
                    career_points, points_per_game, RANK() OVER (ORDER BY career_points DESC) AS rank
             FROM fact_player_career_stats_basic WHERE career_games >= 1"""),
    _view("v_leaderboard_goalie_record", "Goalies' W-L-T records per season (All rows), ranked by wins, then "
          "goals-against average.", "fact_goalie_season_stats_basic",
          "player_id player_name team_name season season_id game_type games_played wins losses ties record win_pct "
          "gaa shutouts season_rank",
          f"""SELECT {_RANKED}, wins, losses, ties, wins || '-' || losses || '-' || ties AS record, win_pct, gaa,
                     shutouts,
                     RANK() OVER (PARTITION BY season_id ORDER BY wins DESC, gaa ASC NULLS LAST) AS season_rank
              FROM fact_goalie_season_stats_basic WHERE game_type = 'All'"""),
    _view("v_leaderboard_goalie_wins_by_game_type", "Goalies by wins per season and game type (1+ games).",
          "fact_goalie_season_stats_basic",
          "player_id player_name team_name season season_id game_type games_played wins losses ties win_pct gaa rank",
          f"""SELECT {_RANKED}, wins, losses, ties, win_pct, gaa,
                     RANK() OVER (PARTITION BY season_id, game_type ORDER BY wins DESC) AS rank
              FROM fact_goalie_season_stats_basic WHERE games_played >= 1"""),
    # ---- rankings
    _view("v_rankings_by_position", "Skaters ranked by points within position and season (position_rank) and "
          "within season (overall_rank), All rows with 1+ games (the old view ranked every game-type row).",
          "fact_player_season_stats_basic",
          "player_id player_name team_name position season_id games_played goals assists points points_per_game "
          "position_rank overall_rank",
          """SELECT player_id, player_name, team_name, position, season_id, games_played, goals, assists, points,
                    points_per_game,
                    RANK() OVER (PARTITION BY season_id, position ORDER BY points DESC) AS position_rank,
                    RANK() OVER (PARTITION BY season_id ORDER BY points DESC) AS overall_rank
             FROM fact_player_season_stats_basic WHERE game_type = 'All' AND games_played >= 1"""),
    _view("v_rankings_career", "Skater careers (5+ games) ranked by points, goals, games and points per game.",
          "fact_player_career_stats_basic",
          "player_id player_name current_team position career_games career_goals career_assists career_points "
          "career_pim points_per_game points_rank goals_rank games_rank ppg_rank",
          """SELECT player_id, player_name, current_team, position, career_games, career_goals, career_assists,
                    career_points, career_pim, points_per_game,
                    RANK() OVER (ORDER BY career_points DESC) AS points_rank,
                    RANK() OVER (ORDER BY career_goals DESC) AS goals_rank,
                    RANK() OVER (ORDER BY career_games DESC) AS games_rank,
                    RANK() OVER (ORDER BY points_per_game DESC NULLS LAST) AS ppg_rank
             FROM fact_player_career_stats_basic WHERE career_games >= 5"""),
    _view("v_rankings_goalies_career", "Goalie careers (3+ games) ranked by wins, goals-against average (lowest "
          "first) and shutouts.", "fact_goalie_career_stats_basic",
          "player_id player_name current_team career_games career_wins career_losses career_goals_against "
          "career_gaa career_shutouts career_win_pct wins_rank gaa_rank shutout_rank",
          """SELECT player_id, player_name, current_team, career_games, career_wins, career_losses,
                    career_goals_against, career_gaa, career_shutouts, career_win_pct,
                    RANK() OVER (ORDER BY career_wins DESC) AS wins_rank,
                    RANK() OVER (ORDER BY career_gaa ASC NULLS LAST) AS gaa_rank,
                    RANK() OVER (ORDER BY career_shutouts DESC) AS shutout_rank
             FROM fact_goalie_career_stats_basic WHERE career_games >= 3"""),
    # ---- summaries
    _view("v_summary_by_position", "Per season and position (All rows): players, games, totals and the mean of "
          "the players' per-game rates.", "fact_player_season_stats_basic",
          "season_id season position player_count total_games total_goals total_assists total_points "
          "avg_goals_per_game avg_points_per_game",
          """SELECT season_id, MAX(season) AS season, position, COUNT(DISTINCT player_id) AS player_count,
                    SUM(games_played) AS total_games, SUM(goals) AS total_goals, SUM(assists) AS total_assists,
                    SUM(points) AS total_points, ROUND(AVG(goals_per_game), 2) AS avg_goals_per_game,
                    ROUND(AVG(points_per_game), 2) AS avg_points_per_game
             FROM fact_player_season_stats_basic WHERE game_type = 'All' GROUP BY season_id, position"""),
    _view("v_summary_game", "Played, included games with their official score, winner (or Tie) and per-period "
          "scores home-away.", "dim_schedule",
          "game_id date home_team_name away_team_name home_total_goals away_total_goals winner p1_score p2_score "
          "p3_score",
          f"""SELECT game_id, date, home_team_name, away_team_name, home_total_goals, away_total_goals,
                     CASE WHEN home_total_goals > away_total_goals THEN home_team_name
                          WHEN away_total_goals > home_total_goals THEN away_team_name ELSE 'Tie' END AS winner,
                     home_team_period1_goals || '-' || away_team_period1_goals AS p1_score,
                     home_team_period2_goals || '-' || away_team_period2_goals AS p2_score,
                     home_team_period3_goals || '-' || away_team_period3_goals AS p3_score
              FROM dim_schedule WHERE {_PLAYED}"""),
    _view("v_tracking_event_summary", "Per tracked game and event type: events and the distinct players on them "
          "(the event type is the event's, fact_events).", "fact_event_players fact_events",
          "game_id event_type event_count unique_players",
          """SELECT p.game_id, e.event_type, COUNT(*) AS event_count, COUNT(DISTINCT p.player_id) AS unique_players
             FROM fact_event_players p JOIN fact_events e ON e.event_id = p.event_id
             GROUP BY p.game_id, e.event_type"""),
    # ---- compare
    _view("v_compare_goalies", "Goalie season rows for the compare page: one All row per goalie and season.",
          "fact_goalie_season_stats_basic",
          "player_id player_name team_name season_id season games_played wins losses goals_against gaa shutouts "
          "win_pct shutout_pct",
          """SELECT player_id, player_name, team_name, season_id, season, games_played, wins, losses, goals_against,
                    gaa, shutouts, win_pct, shutout_pct
             FROM fact_goalie_season_stats_basic WHERE game_type = 'All'"""),
    _view("v_compare_teams", "Team season All rows with their All-row roster (size, goals, assists): "
          "v_summary_team_season's figures, read from the tables.",
          "fact_team_season_stats_basic fact_player_season_stats_basic",
          "team_id team_name season_id season games_played wins losses points win_pct goals_for goals_against "
          "goal_diff goals_for_per_game goals_against_per_game team_total_goals team_total_assists roster_size",
          """SELECT t.team_id, t.team_name, t.season_id, t.season, t.games_played, t.wins, t.losses, t.points,
                    t.win_pct, t.goals_for, t.goals_against, t.goal_diff, t.goals_for_per_game,
                    t.goals_against_per_game, COALESCE(r.team_total_goals, 0) AS team_total_goals,
                    COALESCE(r.team_total_assists, 0) AS team_total_assists, COALESCE(r.roster_size, 0) AS roster_size
             FROM fact_team_season_stats_basic t
             LEFT JOIN (SELECT team_id, season_id, SUM(goals) AS team_total_goals,
                               SUM(assists) AS team_total_assists, COUNT(DISTINCT player_id) AS roster_size
                        FROM fact_player_season_stats_basic WHERE game_type = 'All'
                        GROUP BY team_id, season_id) r ON r.team_id = t.team_id AND r.season_id = t.season_id
             WHERE t.game_type = 'All'"""),
    _view("v_compare_player_vs_league", "Skaters' All rows (5+ games) against the mean rates of those rows of the "
          "season; performance_tier from points per game: Elite (> 2x the mean), Above Average (> the mean), "
          "Average (> 0.3x), else Below Average.", "fact_player_season_stats_basic",
          "player_id player_name team_name season_id games_played goals_per_game league_avg_gpg gpg_vs_avg "
          "points_per_game league_avg_ppg ppg_vs_avg performance_tier",
          """SELECT p.player_id, p.player_name, p.team_name, p.season_id, p.games_played, p.goals_per_game,
                    l.league_avg_gpg, ROUND(p.goals_per_game - l.league_avg_gpg, 2) AS gpg_vs_avg,
                    p.points_per_game, l.league_avg_ppg, ROUND(p.points_per_game - l.league_avg_ppg, 2) AS ppg_vs_avg,
                    CASE WHEN p.points_per_game > 2 * l.league_avg_ppg THEN 'Elite'
                         WHEN p.points_per_game > l.league_avg_ppg THEN 'Above Average'
                         WHEN p.points_per_game > 0.3 * l.league_avg_ppg THEN 'Average'
                         ELSE 'Below Average' END AS performance_tier
             FROM fact_player_season_stats_basic p
             JOIN (SELECT season_id, ROUND(AVG(goals_per_game), 2) AS league_avg_gpg,
                          ROUND(AVG(points_per_game), 2) AS league_avg_ppg
                   FROM fact_player_season_stats_basic WHERE game_type = 'All' AND games_played >= 5
                   GROUP BY season_id) l ON l.season_id = p.season_id
             WHERE p.game_type = 'All' AND p.games_played >= 5"""),
    _view("v_compare_teammates", "Pairs of teammates (same team and season, All rows, 5+ games each), each pair once "
          "(player1 has the smaller player_id).", "fact_player_season_stats_basic",
          "team_name season_id player1 player2 p1_points p2_points p1_goals p2_goals p1_gp p2_gp",
          """SELECT a.team_name, a.season_id, a.player_name AS player1, b.player_name AS player2,
                    a.points AS p1_points, b.points AS p2_points, a.goals AS p1_goals, b.goals AS p2_goals,
                    a.games_played AS p1_gp, b.games_played AS p2_gp
             FROM fact_player_season_stats_basic a
             JOIN fact_player_season_stats_basic b
               ON b.team_id = a.team_id AND b.season_id = a.season_id AND b.game_type = 'All'
              AND b.player_id > a.player_id AND b.games_played >= 5
             WHERE a.game_type = 'All' AND a.games_played >= 5"""),
    # ---- details and recent games
    _view("v_detail_game_roster", "Official rosters with their box score of played, included games.",
          "dim_schedule fact_gameroster",
          "game_id date home_team_name away_team_name player_id player_full_name player_position team_name "
          "team_venue goals assist points pim",
          f"""SELECT s.game_id, s.date, s.home_team_name, s.away_team_name, r.player_id, r.player_full_name,
                     r.player_position, r.team_name, r.team_venue, r.goals, r.assist, r.points, r.pim
              FROM dim_schedule s JOIN fact_gameroster r ON r.game_id = s.game_id
              WHERE {_PLAYED}"""),
    _view("v_detail_player_game_log", "Skater lines of tracked, included games with date and matchup (home vs away); "
          "plus_minus_total is the player's plus_minus (all strengths, the contract's definition).",
          "fact_player_game_stats dim_schedule",
          "player_id player_name team_name game_id date matchup goals assists points shots sog toi_minutes "
          "plus_minus_total game_score",
          """SELECT p.player_id, p.player_name, p.team_name, p.game_id, s.date,
                    s.home_team_name || ' vs ' || s.away_team_name AS matchup, p.goals, p.assists, p.points, p.shots,
                    p.sog, p.toi_minutes, p.plus_minus AS plus_minus_total, p.game_score
             FROM fact_player_game_stats p JOIN dim_schedule s ON s.game_id = p.game_id WHERE s.include"""),
    _view("v_recent_player_games", "Skater lines of tracked, included games with the game's date.",
          "fact_player_game_stats dim_schedule",
          "game_id player_id player_name team_name position date goals assists points shots sog toi_minutes "
          "game_score",
          """SELECT p.game_id, p.player_id, p.player_name, p.team_name, p.position, s.date, p.goals, p.assists,
                    p.points, p.shots, p.sog, p.toi_minutes, p.game_score
             FROM fact_player_game_stats p JOIN dim_schedule s ON s.game_id = p.game_id WHERE s.include"""),
    _view("v_detail_player_vs_opponent", "Skater tracked totals per team played for and opponent (included games).",
          "fact_player_game_stats dim_schedule",
          "player_id player_name team_name opponent games_vs total_goals total_assists total_points avg_points_vs",
          """SELECT p.player_id, MAX(p.player_name) AS player_name, p.team_name, p.opponent_team_name AS opponent,
                    COUNT(*) AS games_vs, SUM(p.goals) AS total_goals, SUM(p.assists) AS total_assists,
                    SUM(p.points) AS total_points, ROUND(AVG(p.points), 2) AS avg_points_vs
             FROM fact_player_game_stats p JOIN dim_schedule s ON s.game_id = p.game_id
             WHERE s.include AND p.player_id IS NOT NULL
             GROUP BY p.player_id, p.team_name, p.opponent_team_name"""),
    _view("v_detail_team_game_log", "Team lines of tracked, included games: tracked goals, assists, points and "
          "shots, the opponent's name and the result W/L/T from the official score.",
          "fact_team_game_stats dim_schedule",
          "team_id team_name game_id date opponent goals assists points shots sog result",
          """SELECT t.team_id, t.team_name, t.game_id, s.date,
                    CASE WHEN t.team_id = s.home_team_id THEN s.away_team_name ELSE s.home_team_name END AS opponent,
                    t.goals, t.assists, t.points, t.shots, t.sog,
                    CASE WHEN s.home_total_goals IS NULL OR s.away_total_goals IS NULL THEN NULL
                         WHEN s.home_total_goals = s.away_total_goals THEN 'T'
                         WHEN (t.team_id = s.home_team_id) = (s.home_total_goals > s.away_total_goals) THEN 'W'
                         ELSE 'L' END AS result
             FROM fact_team_game_stats t JOIN dim_schedule s ON s.game_id = t.game_id WHERE s.include"""),
    _view("v_detail_goalie_game_log", "Goalie lines of tracked, included games with date and matchup; hd_save_pct = "
          "high-danger saves / high-danger shots x 100; " + _GOALIE_GAME_NOTE,
          "fact_goalie_game_stats fact_shots fact_shot_xg dim_schedule",
          "player_id player_name team_name game_id date matchup venue saves goals_against shots_against save_pct "
          "hd_save_pct is_quality_start overall_game_rating goalie_war",
          f"""SELECT gg.player_id, gg.player_name, gg.team_name, gg.game_id, s.date,
                     s.home_team_name || ' vs ' || s.away_team_name AS matchup, gg.venue, gg.saves, gg.goals_against,
                     gg.shots_against, gg.save_pct,
                     ROUND(100.0 * gg.hd_saves / NULLIF(gg.hd_shots_against, 0), 1) AS hd_save_pct,
                     {_QUALITY_START}, {_GAME_RATING}, gg.goalie_war {_GOALIE_GAME}"""),
    _view("v_recent_goalie_games", "Goalie lines of tracked, included games with the game's date; "
          + _GOALIE_GAME_NOTE, "fact_goalie_game_stats fact_shots fact_shot_xg dim_schedule",
          "game_id player_id player_name team_name venue date saves goals_against shots_against save_pct "
          "is_quality_start overall_game_rating goalie_war",
          f"""SELECT gg.game_id, gg.player_id, gg.player_name, gg.team_name, gg.venue, s.date, gg.saves,
                     gg.goals_against, gg.shots_against, gg.save_pct, {_QUALITY_START}, {_GAME_RATING},
                     gg.goalie_war {_GOALIE_GAME}"""),
    _view("v_detail_player_periods", "Skater goals, assists, shot attempts and time on ice per period of tracked "
          "games (from fact_goals, fact_shots and the shifts: they sum to the game's figures); NULL for a period "
          "the game's tracking does not cover.",
          "fact_player_game_stats fact_goals fact_shots fact_shift_players fact_shifts",
          "player_id player_name team_name game_id p1_goals p2_goals p3_goals p1_assists p2_assists p3_assists "
          "p1_shots p2_shots p3_shots p1_toi_seconds p2_toi_seconds p3_toi_seconds",
          f"""SELECT p.player_id, p.player_name, p.team_name, p.game_id,
                     {", ".join(_per_period(c, n, "p", f"p{n}_{out}") for c, out in (
                         ("goals", "goals"), ("assists", "assists"), ("shots", "shots"), ("toi", "toi_seconds"))
                         for n in (1, 2, 3))}
              FROM fact_player_game_stats p
              LEFT JOIN ({_PLAYER_PERIODS}) x ON x.game_id = p.game_id AND x.player_id = p.player_id
              GROUP BY p.player_game_id, p.player_id, p.player_name, p.team_name, p.game_id, p.periods_covered"""),
    _view("v_detail_goalie_periods", "Goalie saves, goals against and save % (0-100) per period of tracked games "
          "(the shots on goal of fact_shots his shots_against counts; NULL for a period the tracking does not "
          "cover); best_period / worst_period = the period with the highest / lowest save % among those with "
          "shots (the earlier on a tie, 0 without shots), period_consistency = their save %'s population standard "
          "deviation (0 with fewer than two), as the old goalie builder defined them.",
          "fact_goalie_game_stats fact_shots",
          "player_id player_name team_name game_id p1_saves p1_goals_against p1_sv_pct p2_saves p2_goals_against "
          "p2_sv_pct p3_saves p3_goals_against p3_sv_pct best_period worst_period period_consistency",
          f"""SELECT g.player_id, g.player_name, g.team_name, g.game_id,
                     {", ".join(f"MAX(x.{c}) FILTER (WHERE x.period = {n}) AS p{n}_{out}" for n in (1, 2, 3)
                                for c, out in (("saves", "saves"), ("ga", "goals_against"), ("sv", "sv_pct")))},
                     COALESCE((ARRAY_AGG(x.period ORDER BY x.sv DESC, x.period) FILTER (WHERE x.sa > 0))[1], 0)
                         AS best_period,
                     COALESCE((ARRAY_AGG(x.period ORDER BY x.sv ASC, x.period) FILTER (WHERE x.sa > 0))[1], 0)
                         AS worst_period,
                     COALESCE(ROUND(STDDEV_POP(x.sv) FILTER (WHERE x.sa > 0), 2), 0) AS period_consistency
              FROM fact_goalie_game_stats g LEFT JOIN ({_GOALIE_PERIODS}) x ON x.goalie_game_id = g.goalie_game_id
              GROUP BY g.goalie_game_id, g.player_id, g.player_name, g.team_name, g.game_id"""),
    _view("v_detail_goalie_shot_context", "Goalie saves, goals against and save % (0-100, NULL without such shots) "
          "per attack context in tracked games: seconds from the shooting team's latest zone entry earlier in the "
          "period to the shot on goal, rush < 5, quick attack 5-10, set play >= 10 or no entry (the old goalie "
          "builder's split; it set the goals against to 0, these count them); rush_pct_of_shots = rush shots / "
          "shots x 100; transition_defense_rating = rush save % - set-play save %.",
          "fact_goalie_game_stats fact_shots fact_events",
          "player_id player_name team_name game_id rush_saves rush_goals_against rush_sv_pct quick_attack_saves "
          "quick_attack_ga quick_attack_sv_pct set_play_saves set_play_ga set_play_sv_pct rush_pct_of_shots "
          "transition_defense_rating",
          f"""SELECT g.player_id, g.player_name, g.team_name, g.game_id,
                     COALESCE(c.rush_sa - c.rush_ga, 0) AS rush_saves, COALESCE(c.rush_ga, 0) AS rush_goals_against,
                     {_sv_pct("c.rush_sa", "c.rush_ga")} AS rush_sv_pct,
                     COALESCE(c.quick_sa - c.quick_ga, 0) AS quick_attack_saves,
                     COALESCE(c.quick_ga, 0) AS quick_attack_ga, {_sv_pct("c.quick_sa", "c.quick_ga")}
                         AS quick_attack_sv_pct,
                     COALESCE(c.set_sa - c.set_ga, 0) AS set_play_saves, COALESCE(c.set_ga, 0) AS set_play_ga,
                     {_sv_pct("c.set_sa", "c.set_ga")} AS set_play_sv_pct,
                     ROUND(100.0 * c.rush_sa / NULLIF(c.rush_sa + c.quick_sa + c.set_sa, 0), 1) AS rush_pct_of_shots,
                     {_sv_pct("c.rush_sa", "c.rush_ga")} - {_sv_pct("c.set_sa", "c.set_ga")}
                         AS transition_defense_rating
              FROM fact_goalie_game_stats g LEFT JOIN ({_GOALIE_CONTEXT}) c ON c.goalie_game_id = g.goalie_game_id"""),
    _view("v_detail_goalie_pressure", "Goalie saves and save % (0-100, 100 without such shots) by the pressure "
          "of the sequence in tracked games, by the old goalie builder's rules: each shot on goal he faced (the "
          "fact_shots rows his shots_against counts) counts against the number of shots on goal he faced in its "
          "sequence (fact_events.sequence_key, whistle to whistle, so a sequence's shots at the other goal are "
          "not counted): 1 = single shot, 2 or more = multi-shot, 4 or more = sustained pressure (a subset of "
          "multi-shot); max_sequence_faced / avg_sequence_length = the most / average (2 decimals) shots on goal "
          "per sequence he faced (0 without shots); sequence_survival_rate = (saves - goals against) / saves x "
          "100 as the old builder computed it (NULL without saves, where it divided by zero); "
          "pressure_handling_index = (multi-shot save % + sustained save %) / 2, both unrounded.",
          "fact_goalie_game_stats fact_shots fact_events",
          "player_id player_name team_name game_id single_shot_saves multi_shot_saves multi_shot_sv_pct "
          "sustained_pressure_saves sustained_pressure_sv_pct max_sequence_faced avg_sequence_length "
          "sequence_survival_rate pressure_handling_index",
          f"""SELECT g.player_id, g.player_name, g.team_name, g.game_id,
                     COALESCE(q.single_saves, 0) AS single_shot_saves,
                     COALESCE(q.multi_sa - q.multi_ga, 0) AS multi_shot_saves,
                     COALESCE({_sv_pct("q.multi_sa", "q.multi_ga")}, 100) AS multi_shot_sv_pct,
                     COALESCE(q.sustained_sa - q.sustained_ga, 0) AS sustained_pressure_saves,
                     COALESCE({_sv_pct("q.sustained_sa", "q.sustained_ga")}, 100) AS sustained_pressure_sv_pct,
                     COALESCE(q.max_sequence, 0) AS max_sequence_faced,
                     COALESCE(ROUND(1.0 * q.sa / NULLIF(q.sequences, 0), 2), 0) AS avg_sequence_length,
                     ROUND(100.0 * (g.saves - g.goals_against) / NULLIF(g.saves, 0), 1) AS sequence_survival_rate,
                     ROUND((COALESCE(100.0 * (q.multi_sa - q.multi_ga) / NULLIF(q.multi_sa, 0), 100)
                            + COALESCE(100.0 * (q.sustained_sa - q.sustained_ga) / NULLIF(q.sustained_sa, 0), 100))
                           / 2, 1) AS pressure_handling_index
              FROM fact_goalie_game_stats g
              LEFT JOIN ({_GOALIE_SEQUENCES}) q ON q.goalie_game_id = g.goalie_game_id"""),
    _view("v_compare_goalies_advanced", "Advanced goalie figures for the compare page, " + _GOALIE_ADVANCED_NOTE,
          "fact_goalie_game_stats fact_shots fact_events fact_saves",
          "player_id player_name team_name games_played saves goals_against save_pct rush_sv_pct set_play_sv_pct "
          "rebound_control_rate quality_start_pct season_war",
          _GOALIE_ADVANCED),
    _view("v_rankings_goalies_advanced", "Advanced goalie rankings by save %, rush save %, rebound control and WAR "
          "(highest first, empty figures last), " + _GOALIE_ADVANCED_NOTE,
          "fact_goalie_game_stats fact_shots fact_events fact_saves",
          "player_id player_name team_name games_played saves goals_against save_pct rush_sv_pct set_play_sv_pct "
          "rebound_control_rate quality_start_pct season_war sv_pct_rank rush_sv_rank rebound_rank war_rank",
          f"""SELECT a.*, RANK() OVER (ORDER BY a.save_pct DESC NULLS LAST) AS sv_pct_rank,
                     RANK() OVER (ORDER BY a.rush_sv_pct DESC NULLS LAST) AS rush_sv_rank,
                     RANK() OVER (ORDER BY a.rebound_control_rate DESC NULLS LAST) AS rebound_rank,
                     RANK() OVER (ORDER BY a.season_war DESC NULLS LAST) AS war_rank
              FROM ({_GOALIE_ADVANCED}) a WHERE a.games_played >= 1"""),
    _view("v_recent_high_scoring", "The 20 played, included games with the most goals (latest first among equals).",
          "dim_schedule",
          "game_id date home_team_name away_team_name home_total_goals away_total_goals total_goals score",
          f"""SELECT game_id, date, home_team_name, away_team_name, home_total_goals, away_total_goals,
                     home_total_goals + away_total_goals AS total_goals,
                     home_total_goals || '-' || away_total_goals AS score
              FROM dim_schedule WHERE {_PLAYED}
              ORDER BY total_goals DESC, date DESC, game_time DESC NULLS LAST, game_id DESC LIMIT 20"""),
    _view("v_recent_team_form", "Each team's last 5 played, included games: results latest first (W/L/T), wins, "
          "losses, goals for and against.", "dim_schedule",
          "team_name last_5_form wins losses goals_for goals_against",
          f"""SELECT team_name, STRING_AGG(result, '' ORDER BY n) AS last_5_form,
                     SUM((result = 'W')::int) AS wins, SUM((result = 'L')::int) AS losses,
                     SUM(gf) AS goals_for, SUM(ga) AS goals_against
              FROM (SELECT team_name, gf, ga,
                           CASE WHEN gf > ga THEN 'W' WHEN gf < ga THEN 'L' ELSE 'T' END AS result,
                           ROW_NUMBER() OVER (PARTITION BY team_name
                                              ORDER BY date DESC, game_time DESC NULLS LAST, game_id DESC) AS n
                    FROM ({_TEAM_GAMES}) g) r
              WHERE n <= 5 GROUP BY team_name"""),
)
