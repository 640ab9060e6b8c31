"""The warehouse views the league's dashboard reads, declared beside the tables (``catalog.VIEWS``).

Each view is its SELECT, the tables it reads and its output columns in order. ``schema generate`` writes
them after the tables; ``schema plan/apply`` creates missing ones, replaces changed ones and drops and
re-creates a view in the same transaction when a table it reads changes. Sync refreshes tables in place
(DELETE + COPY), so views survive every load.

Where the old views were flawed, these do what the page plainly wants (noted on each view):
leaderboards and rankings read the season tables' ``All`` rows (one row per player and season), which
the old season tables never had; columns the dashboard filters or orders on but the old views lacked are
added (``v_standings_h2h.team_name``, ``v_leaderboard_goalie_gaa.team_id``, ``v_recent_hot_players.avg_points``,
``v_rankings_goalies_current.save_pct``); ``v_detail_goalie_games`` was queried but never defined.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class View:
    name: str
    description: str
    reads: tuple[str, ...]
    columns: tuple[str, ...]
    select: str

    @property
    def digest(self) -> str:
        """Short hash of the definition; stored in the view's comment so plans can tell a changed view."""
        return hashlib.sha256(f"{self.select}|{self.columns}".encode()).hexdigest()[:12]


def _view(name: str, description: str, reads: str, columns: str, select: str) -> View:
    return View(name, description, tuple(reads.split()), tuple(columns.split()), " ".join(select.split()))


_LATEST_PLAYER_SEASON = ("(SELECT season_id FROM fact_player_season_stats_basic ORDER BY season DESC, season_id DESC "
                         "LIMIT 1)")
_LATEST_GOALIE_SEASON = ("(SELECT season_id FROM fact_goalie_season_stats_basic ORDER BY season DESC, season_id DESC "
                         "LIMIT 1)")
_LEADER = "player_id, player_name, team_id, team_name, season, season_id, game_type, games_played"
_PLAYED = "include AND schedule_type = 'Past' AND home_total_goals IS NOT NULL AND away_total_goals IS NOT NULL"

VIEWS: tuple[View, ...] = (
    _view("v_standings_all_seasons", "Standings of every season (All rows), ranked by points, wins, goal difference.",
          "fact_team_season_stats_basic",
          "team_id team_name season season_id game_type games_played wins losses ties points goals_for "
          "goals_against goal_diff win_pct standing",
          """SELECT team_id, team_name, season, season_id, game_type, games_played, wins, losses, ties, points,
                    goals_for, goals_against, goal_diff, win_pct,
                    RANK() OVER (PARTITION BY season_id ORDER BY points DESC, wins DESC, goal_diff DESC) AS standing
             FROM fact_team_season_stats_basic WHERE game_type = 'All'"""),
    _view("v_standings_current", "Standings of the latest season (All rows).", "fact_team_season_stats_basic",
          "team_id team_name season season_id game_type games_played wins losses ties points goals_for "
          "goals_against goal_diff goals_for_per_game goals_against_per_game win_pct standing",
          """SELECT team_id, team_name, season, season_id, game_type, games_played, wins, losses, ties, points,
                    goals_for, goals_against, goal_diff, goals_for_per_game, goals_against_per_game, win_pct,
                    RANK() OVER (ORDER BY points DESC, wins DESC, goal_diff DESC) AS standing
             FROM fact_team_season_stats_basic
             WHERE game_type = 'All' AND season_id = (SELECT season_id FROM fact_team_season_stats_basic
                                                      WHERE game_type = 'All' ORDER BY season DESC, season_id DESC
                                                      LIMIT 1)"""),
    _view("v_leaderboard_points", "Skaters by points per season (All rows, 1+ games); overall_rank across seasons.",
          "fact_player_season_stats_basic",
          "player_id player_name team_id team_name season season_id game_type games_played goals assists points "
          "points_per_game season_rank overall_rank",
          f"""SELECT {_LEADER}, goals, assists, points, points_per_game,
                     RANK() OVER (PARTITION BY season_id ORDER BY points DESC) AS season_rank,
                     RANK() OVER (ORDER BY points DESC) AS overall_rank
              FROM fact_player_season_stats_basic WHERE game_type = 'All' AND games_played >= 1"""),
    _view("v_leaderboard_goals", "Skaters by goals per season (All rows, 1+ games).", "fact_player_season_stats_basic",
          "player_id player_name team_id team_name season season_id game_type games_played goals goals_per_game "
          "season_rank",
          f"""SELECT {_LEADER}, goals, goals_per_game,
                     RANK() OVER (PARTITION BY season_id ORDER BY goals DESC) AS season_rank
              FROM fact_player_season_stats_basic WHERE game_type = 'All' AND games_played >= 1"""),
    _view("v_leaderboard_assists", "Skaters by assists per season (All rows, 1+ games).",
          "fact_player_season_stats_basic",
          "player_id player_name team_id team_name season season_id game_type games_played assists "
          "assists_per_game season_rank",
          f"""SELECT {_LEADER}, assists, assists_per_game,
                     RANK() OVER (PARTITION BY season_id ORDER BY assists DESC) AS season_rank
              FROM fact_player_season_stats_basic WHERE game_type = 'All' AND games_played >= 1"""),
    _view("v_leaderboard_goalie_wins", "Goalies by wins per season (All rows, 1+ games).",
          "fact_goalie_season_stats_basic",
          "player_id player_name team_id team_name season season_id game_type games_played wins losses ties "
          "win_pct gaa season_rank",
          f"""SELECT {_LEADER}, wins, losses, ties, win_pct, gaa,
                     RANK() OVER (PARTITION BY season_id ORDER BY wins DESC) AS season_rank
              FROM fact_goalie_season_stats_basic WHERE game_type = 'All' AND games_played >= 1"""),
    _view("v_leaderboard_goalie_gaa", "Goalies by goals-against average per season (All rows, 5+ games); team_id "
          "added (the dashboard filters on it).", "fact_goalie_season_stats_basic",
          "player_id player_name team_id team_name season season_id game_type games_played gaa goals_against wins "
          "losses ties win_pct season_rank shutouts shutout_pct",
          f"""SELECT {_LEADER}, gaa, goals_against, wins, losses, ties, win_pct,
                     RANK() OVER (PARTITION BY season_id ORDER BY gaa ASC) AS season_rank, shutouts, shutout_pct
              FROM fact_goalie_season_stats_basic WHERE game_type = 'All' AND games_played >= 5"""),
    _view("v_rankings_players_current", "Skaters of the latest season (one All row each, 1+ games) with their ranks "
          "(the old view ranked every game-type row, listing a player once per game type).",
          "fact_player_season_stats_basic",
          "player_id player_name team_name position games_played goals assists points pim points_per_game "
          "goals_per_game points_rank goals_rank assists_rank ppg_rank team_id season_id",
          f"""SELECT player_id, player_name, team_name, position, games_played, goals, assists, points, pim,
                     points_per_game, goals_per_game,
                     RANK() OVER (ORDER BY points DESC) AS points_rank, RANK() OVER (ORDER BY goals DESC) AS goals_rank,
                     RANK() OVER (ORDER BY assists DESC) AS assists_rank,
                     RANK() OVER (ORDER BY points_per_game DESC NULLS LAST) AS ppg_rank, team_id, season_id
              FROM fact_player_season_stats_basic
              WHERE game_type = 'All' AND games_played >= 1 AND season_id = {_LATEST_PLAYER_SEASON}"""),
    _view("v_rankings_goalies_current", "Goalies of the latest season (All rows, 1+ games) with their ranks; save_pct "
          "(0-100) from his tracked games of the season, empty when none was tracked.",
          "fact_goalie_season_stats_basic fact_goalie_game_stats",
          "player_id player_name team_name games_played wins losses goals_against gaa shutouts win_pct wins_rank "
          "gaa_rank win_pct_rank shutout_rank season_id ties shutout_pct save_pct",
          f"""SELECT s.player_id, s.player_name, s.team_name, s.games_played, s.wins, s.losses, s.goals_against,
                     s.gaa, s.shutouts, s.win_pct, RANK() OVER (ORDER BY s.wins DESC) AS wins_rank,
                     RANK() OVER (ORDER BY s.gaa ASC NULLS LAST) AS gaa_rank,
                     RANK() OVER (ORDER BY s.win_pct DESC NULLS LAST) AS win_pct_rank,
                     RANK() OVER (ORDER BY s.shutouts DESC) AS shutout_rank, s.season_id, s.ties, s.shutout_pct,
                     t.save_pct
              FROM fact_goalie_season_stats_basic s
              LEFT JOIN (SELECT player_id, season_id,
                                ROUND(100.0 * SUM(saves) / NULLIF(SUM(shots_against), 0), 1) AS save_pct
                         FROM fact_goalie_game_stats GROUP BY player_id, season_id) t
                     ON t.player_id = s.player_id AND t.season_id = s.season_id
              WHERE s.game_type = 'All' AND s.games_played >= 1 AND s.season_id = {_LATEST_GOALIE_SEASON}"""),
    _view("v_recent_games", "The last 20 played games with their score.", "dim_schedule",
          "game_id date season home_team_name away_team_name home_total_goals away_total_goals score winner "
          "goal_diff",
          f"""SELECT game_id, date, season, home_team_name, away_team_name, home_total_goals, away_total_goals,
                     home_total_goals || '-' || away_total_goals AS score,
                     CASE WHEN home_total_goals > away_total_goals THEN home_team_name
                          WHEN away_total_goals > home_total_goals THEN away_team_name ELSE 'Tie' END AS winner,
                     ABS(home_total_goals - away_total_goals) AS goal_diff
              FROM dim_schedule WHERE {_PLAYED}
              ORDER BY date DESC, game_time DESC NULLS LAST, game_id DESC LIMIT 20"""),
    _view("v_recent_hot_players", "Top 10 players by tracked points (2+ tracked games); avg_points added (the "
          "dashboard orders by it; the old avg_game_score belongs to the analytics of issue 13).",
          "fact_player_game_stats dim_schedule",
          "player_id player_name team_name games goals assists points avg_points",
          """SELECT p.player_id, MAX(p.player_name) AS player_name, MAX(p.team_name) AS team_name,
                    COUNT(*) AS games, SUM(p.goals) AS goals, SUM(p.assists) AS assists, SUM(p.points) AS points,
                    ROUND(AVG(p.points), 2) AS avg_points
             FROM fact_player_game_stats p JOIN dim_schedule s ON s.game_id = p.game_id
             WHERE s.include AND p.player_id IS NOT NULL
             GROUP BY p.player_id HAVING COUNT(*) >= 2
             ORDER BY points DESC, avg_points DESC, p.player_id LIMIT 10"""),
    _view("v_standings_h2h", "Record of each team against each opponent in played games, one row per team and "
          "opponent (team1 = team_name; the old view had one row per home/away pair and no team_name, which the "
          "dashboard filters on).", "dim_schedule",
          "team_name team1 team2 games_played team1_wins team2_wins ties team1_goals team2_goals",
          f"""SELECT team1 AS team_name, team1, team2, COUNT(*) AS games_played,
                     SUM((gf > ga)::int) AS team1_wins, SUM((gf < ga)::int) AS team2_wins,
                     SUM((gf = ga)::int) AS ties, SUM(gf) AS team1_goals, SUM(ga) AS team2_goals
              FROM (SELECT home_team_name AS team1, away_team_name AS team2, home_total_goals AS gf,
                           away_total_goals AS ga FROM dim_schedule WHERE {_PLAYED}
                    UNION ALL
                    SELECT away_team_name, home_team_name, away_total_goals, home_total_goals
                    FROM dim_schedule WHERE {_PLAYED}) g
              GROUP BY team1, team2"""),
    _view("v_summary_player_career", "Skater careers with milestone flags.", "fact_player_career_stats_basic",
          "player_id player_name current_team position career_games career_goals career_assists career_points "
          "career_pim goals_per_game assists_per_game points_per_game pim_per_game century_goals "
          "bicentennial_points hundred_games",
          """SELECT player_id, player_name, current_team, position, career_games, career_goals, career_assists,
                    career_points, career_pim, goals_per_game, assists_per_game, points_per_game, pim_per_game,
                    career_goals >= 100 AS century_goals, career_points >= 200 AS bicentennial_points,
                    career_games >= 100 AS hundred_games
             FROM fact_player_career_stats_basic"""),
    _view("v_summary_goalie_career", "Goalie careers with milestone flags.", "fact_goalie_career_stats_basic",
          "player_id player_name current_team career_games career_wins career_losses career_goals_against "
          "career_gaa career_shutouts career_win_pct career_shutout_pct fifty_wins ten_shutouts",
          """SELECT player_id, player_name, current_team, career_games, career_wins, career_losses,
                    career_goals_against, career_gaa, career_shutouts, career_win_pct, career_shutout_pct,
                    career_wins >= 50 AS fifty_wins, career_shutouts >= 10 AS ten_shutouts
             FROM fact_goalie_career_stats_basic"""),
    _view("v_summary_league", "Per season: players, teams, totals and averages of the skaters' All rows, and the "
          "played games of the schedule.", "fact_player_season_stats_basic dim_schedule",
          "season_id season total_players total_teams total_player_games total_goals total_assists total_points "
          "total_pim avg_goals_per_game avg_points_per_game max_goals max_points total_games",
          f"""SELECT p.season_id, MAX(p.season) AS season, COUNT(DISTINCT p.player_id) AS total_players,
                     COUNT(DISTINCT p.team_id) AS total_teams, SUM(p.games_played) AS total_player_games,
                     SUM(p.goals) AS total_goals, SUM(p.assists) AS total_assists, SUM(p.points) AS total_points,
                     SUM(p.pim) AS total_pim,
                     ROUND(SUM(p.goals)::numeric / NULLIF(SUM(p.games_played), 0), 2) AS avg_goals_per_game,
                     ROUND(SUM(p.points)::numeric / NULLIF(SUM(p.games_played), 0), 2) AS avg_points_per_game,
                     MAX(p.goals) AS max_goals, MAX(p.points) AS max_points,
                     (SELECT COUNT(*) FROM dim_schedule s WHERE s.season_id = p.season_id AND {_PLAYED})
                         AS total_games
              FROM fact_player_season_stats_basic p WHERE p.game_type = 'All' GROUP BY p.season_id"""),
    _view("v_summary_team_season", "Team season rows of every game type with their roster of that game type "
          "(size, goals, assists, top scorer's points); the old view joined every game type's roster to every "
          "game type's standings row, counting players several times.",
          "fact_team_season_stats_basic fact_player_season_stats_basic",
          "team_id team_name season_id season game_type games_played wins losses ties points win_pct goals_for "
          "goals_against goal_diff goals_for_per_game goals_against_per_game roster_size team_total_goals "
          "team_total_assists top_scorer_points",
          """SELECT t.team_id, t.team_name, t.season_id, t.season, t.game_type, t.games_played, t.wins, t.losses,
                    t.ties, t.points, t.win_pct, t.goals_for, t.goals_against, t.goal_diff, t.goals_for_per_game,
                    t.goals_against_per_game, COUNT(DISTINCT p.player_id) AS roster_size,
                    COALESCE(SUM(p.goals), 0) AS team_total_goals, COALESCE(SUM(p.assists), 0) AS team_total_assists,
                    MAX(p.points) AS top_scorer_points
             FROM fact_team_season_stats_basic t
             LEFT JOIN fact_player_season_stats_basic p
                    ON p.team_id = t.team_id AND p.season_id = t.season_id AND p.game_type = t.game_type
             GROUP BY t.team_id, t.team_name, t.season_id, t.season, t.game_type, t.games_played, t.wins, t.losses,
                      t.ties, t.points, t.win_pct, t.goals_for, t.goals_against, t.goal_diff, t.goals_for_per_game,
                      t.goals_against_per_game"""),
    _view("v_compare_players", "Skater season rows for the compare page: one All row per player and season (the "
          "old projection of every game-type row listed a player twice).", "fact_player_season_stats_basic",
          "player_id player_name team_name position season_id season games_played goals assists points pim "
          "goals_per_game assists_per_game points_per_game pim_per_game",
          """SELECT player_id, player_name, team_name, position, season_id, season, games_played, goals, assists,
                    points, pim, goals_per_game, assists_per_game, points_per_game, pim_per_game
             FROM fact_player_season_stats_basic WHERE game_type = 'All'
             ORDER BY season DESC, player_name"""),
    _view("v_detail_goalie_games", "One row per goalie and tracked game with the game's date and teams (queried by "
          "the goalie page but never defined by the old views).", "fact_goalie_game_stats dim_schedule",
          "goalie_game_id game_id date season_id game_type player_id player_name team_id team_name venue "
          "home_team_name away_team_name shots_against saves goals_against save_pct toi_seconds",
          """SELECT g.goalie_game_id, g.game_id, s.date, s.season_id, s.game_type, g.player_id, g.player_name,
                    g.team_id, g.team_name, g.venue, s.home_team_name, s.away_team_name, g.shots_against, g.saves,
                    g.goals_against, g.save_pct, g.toi_seconds
             FROM fact_goalie_game_stats g JOIN dim_schedule s ON s.game_id = g.game_id"""),
)
