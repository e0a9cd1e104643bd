#!/usr/bin/env python3
"""Independent reference for how bman turns a game-event journal into
per-player stats and ratings.

Written from the rules (shared protocol.md and design.md "Ratings"), not from
the Rust code, so the end-to-end tests compare two independent readings of
the same specification. Needs the Python `trueskill` package 0.4.5:

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install trueskill==0.4.5
    /tmp/ref/bin/python tools/reference.py JOURNAL.jsonl > out.json

Input: journal lines `{"ts_ms", "server", "mode", "id", "json"}` (one mode per
journal). Output: `{"mode": ..., "players": [...]}` sorted by (store,
profile_id), one entry per human with any stat change in that mode.

Diagnostics (events that look inconsistent with protocol.md) go to stderr
prefixed with `warning:`; `--strict` makes them fatal.

Rules implemented (see tools/make_expected.sh and tests/data/expected/README.md):
- identity: per-server slot -> (store, profile id), fed by player_connect (4),
  player_loaded (12), player_spawn (5), player_team_change (8), PlayerData in
  match_end (27) and request_data (34) (request_player also flat), and without
  marking a match participant by player_level_up (9, slot in `ID`),
  zombrains_revive (50) and zombrains_buy_weapon (51); player_disconnect (7)
  frees the slot. An in-event profile (KillerProfile, VictimProfile,
  CarrierProfile) wins when present and not a bot.
- bots (protocol.md "What real servers send"): a profile id `bot<digits>` on
  any store, store -1, an empty profile id, PlayerData Bot "1", or a spawn
  with EnemyType/EnemyRank (an NPC). Bots never count and never appear in
  the output, rosters or teams.
- kills (6): human killer != human victim, no teamkill -> kills/deaths;
  dm: TrueSkill 1vs1; tdm: Elo K=32. A kill by or of a bot counts nothing
  in dm/tdm/ctf.
- tdm rounds (13..14): two-team TrueSkill over the round rosters.
- ctf_scored (20): two-team TrueSkill over humans on each team now.
- match close (27, or 57 if first): matches, ctf wins/losses/draws,
  svl/zbr games.
- co-op (svl, zbr): a human killing a bot/NPC is an NPC kill; a human killed
  by a bot/NPC or the world is an NPC death. best_wave from survival_new_wave.
- zombrains: escapes (one per zombrains_helicopter_player_boarded, 55); every
  human of the match wins when game_over's WinnerID is a human's slot or
  zombrains_end (56) reported Alive > 0, else loses.
"""

import json
import re
import sys

import trueskill

ELO_K = 32.0
ELO_START = 1000.0
BOT_STORE = -1

COUNTERS = (
    "kills", "deaths", "wins", "losses", "draws", "captures", "best_wave",
    "npc_kills", "npc_deaths", "matches", "games", "escapes",
)
COOP = ("svl", "zbr")
BOT_ID = re.compile(r"bot[0-9]+\Z")


def warn(msg):
    WARNINGS.append(msg)
    print("warning: " + msg, file=sys.stderr)


WARNINGS = []
DEBUG = False


# ---------------------------------------------------------------- decoding

def num(v):
    """A number sent as a JSON number or a string; None if absent/blank."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        s = v.strip()
        if not s:
            return None
        try:
            return int(s)
        except ValueError:
            try:
                return float(s)
            except ValueError:
                return None
    return None


def intval(v, default=None):
    n = num(v)
    if n is None:
        return default
    return int(n)


def text(v):
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def parse_profile(value, store_field=None):
    """(store, profile_id) from any Profile form, or None when unknown.

    Forms: a JSON-encoded string (or object) with ProfileID and StoreID or
    Store; a plain id string with the store in a separate field; empty.
    """
    if value is None:
        return None
    obj = None
    if isinstance(value, dict):
        obj = value
    elif isinstance(value, str):
        s = value.strip()
        if not s:
            return None
        if s.startswith("{"):
            try:
                obj = json.loads(s)
            except ValueError:
                warn("undecodable profile %r" % s)
                return None
        else:
            store = intval(store_field)
            if store is None:
                warn("plain profile id %r without a Store" % s)
                return None
            return (store, s)
    else:
        s = text(value)
        store = intval(store_field)
        if store is None:
            return None
        return (store, s)
    pid = text(obj.get("ProfileID")).strip()
    store = intval(obj.get("StoreID"))
    if store is None:
        store = intval(obj.get("Store"))
    if store is None:
        store = intval(store_field)
    if not pid or store is None:
        return None
    return (store, pid)


def is_bot(ident):
    return ident is not None and (
        ident[0] == BOT_STORE or not ident[1] or BOT_ID.match(ident[1]) is not None)


def is_human(ident):
    return ident is not None and not is_bot(ident)


# ---------------------------------------------------------------- state

class Slot:
    __slots__ = ("ident", "team")

    def __init__(self, ident, team=-1):
        self.ident = ident
        self.team = team


class Player:
    def __init__(self):
        self.mu = trueskill.MU
        self.sigma = trueskill.SIGMA
        self.elo = ELO_START
        for c in COUNTERS:
            setattr(self, c, 0)
        self.touched = False

    def rating(self, env):
        return env.create_rating(self.mu, self.sigma)

    def set_rating(self, r):
        self.mu = r.mu
        self.sigma = r.sigma
        self.touched = True

    def add(self, counter, n=1):
        setattr(self, counter, getattr(self, counter) + n)
        self.touched = True


class Server:
    """Per-server tracker: slots, current match, round."""

    def __init__(self, name):
        self.name = name
        self.slots = {}          # slot id -> Slot
        self.match_seen = {}     # human ident -> last known team in the match
        self.last_close = None   # 27/57 that closed the last match, until match_start
        self.round = None        # tdm: ident -> team, None outside a round
        self.zbr_alive = None    # zombrains_end Alive of the open match

    # identity ------------------------------------------------------------
    def bind(self, slot, ident, team=None, seen=True):
        if slot is None or slot < 0:
            return
        cur = self.slots.get(slot)
        if ident is None:
            if cur is None:
                return
        elif cur is None or cur.ident != ident:
            if cur is not None and cur.ident is not None and is_human(cur.ident) \
                    and is_human(ident):
                warn("%s: slot %d changes from %r to %r without a disconnect"
                     % (self.name, slot, cur.ident, ident))
            cur = Slot(ident)
            self.slots[slot] = cur
        if team is not None:
            cur.team = team
        if seen and is_human(cur.ident):
            self.saw(cur.ident, cur.team)

    def saw(self, ident, team):
        if is_human(ident):
            prev = self.match_seen.get(ident, -1)
            self.match_seen[ident] = team if team in (0, 1, 2) else prev

    def ident_of(self, slot):
        s = self.slots.get(slot)
        return s.ident if s else None

    def team_of(self, slot):
        s = self.slots.get(slot)
        return s.team if s else -1

    def resolve(self, ev, slot_key, profile_key):
        """Identity behind a slot in an event: the event's own profile wins
        when present and not a bot; otherwise the slot map."""
        slot = intval(ev.get(slot_key), -1)
        own = parse_profile(ev.get(profile_key)) if profile_key else None
        mapped = self.ident_of(slot) if slot >= 0 else None
        if own is not None and not is_bot(own):
            if mapped is not None and mapped != own:
                warn("%s: event %s %s=%d says %r, slot map says %r"
                     % (self.name, ev.get("EventID"), slot_key, slot, own, mapped))
            return slot, own
        if own is not None and is_bot(own) and is_human(mapped):
            warn("%s: event %s %s=%d profile is a bot, slot map says human %r"
                 % (self.name, ev.get("EventID"), slot_key, slot, mapped))
        if mapped is None and own is not None:
            return slot, own
        return slot, mapped


def player_data(ev):
    """PlayerData<slot> objects of an event (dicts), with the slot id."""
    out = []
    for k, v in ev.items():
        if not k.startswith("PlayerData"):
            continue
        if isinstance(v, str):
            try:
                v = json.loads(v)
            except ValueError:
                continue
        if not isinstance(v, dict):
            continue
        slot = intval(v.get("ID"))
        if slot is None:
            slot = intval(k[len("PlayerData"):])
        out.append((slot, v))
    return out


def pd_ident(pd):
    ident = parse_profile(pd.get("Profile"), pd.get("Store"))
    if text(pd.get("Bot")) == "1" and not is_bot(ident):
        # Flagged a bot whatever its profile says (real bots are on store 0).
        return (BOT_STORE, ident[1] if ident else "")
    return ident


# ---------------------------------------------------------------- engine

class Reference:
    def __init__(self):
        self.env = trueskill.TrueSkill()  # Python defaults
        self.mode = None
        self.servers = {}
        self.players = {}
        self.stats = {"rounds": 0, "rated_rounds": 0, "capture_events": 0,
                      "rated_captures": 0, "waves": 0, "matches": 0,
                      "rated_kills": 0, "deaths_events": 0}

    def p(self, ident):
        pl = self.players.get(ident)
        if pl is None:
            pl = self.players[ident] = Player()
        return pl

    def server(self, name):
        s = self.servers.get(name)
        if s is None:
            s = self.servers[name] = Server(name)
        return s

    def feed(self, line):
        mode = line.get("mode")
        if self.mode is None:
            self.mode = mode
        elif mode != self.mode:
            raise SystemExit("journal mixes modes %s and %s" % (self.mode, mode))
        eid = intval(line.get("id"))
        raw = line.get("json")
        try:
            ev = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            warn("line with undecodable JSON, id %r" % eid)
            return
        if not isinstance(ev, dict):
            return
        srv = self.server(line.get("server", ""))
        handler = HANDLERS.get(eid)
        if handler:
            handler(self, srv, ev)

    # identity events -------------------------------------------------------
    def on_connect(self, srv, ev):
        slot = intval(ev.get("PlayerID"), -1)
        ident = parse_profile(ev.get("Profile"), ev.get("Store"))
        if slot < 0:
            return
        # A connect is a new occupant: reset the team.
        srv.slots.pop(slot, None)
        srv.bind(slot, ident, -1)

    def on_loaded(self, srv, ev):
        slot = intval(ev.get("PlayerID"), -1)
        srv.bind(slot, parse_profile(ev.get("Profile"), ev.get("Store")))

    def on_spawn(self, srv, ev):
        slot = intval(ev.get("PlayerID"), -1)
        ident = parse_profile(ev.get("Profile"), ev.get("Store"))
        npc = "EnemyType" in ev or "EnemyRank" in ev
        if npc and ident is not None and not is_bot(ident):
            warn("%s: NPC spawn with a human profile %r" % (srv.name, ident))
        if npc:
            ident = (BOT_STORE, ident[1] if ident else "")
        team = intval(ev.get("Team"))
        srv.bind(slot, ident, team)
        self.round_note(srv, slot)

    def on_team_change(self, srv, ev):
        slot = intval(ev.get("PlayerID"), -1)
        ident = parse_profile(ev.get("Profile"), ev.get("Store"))
        srv.bind(slot, ident, intval(ev.get("NewTeam")))
        self.round_note(srv, slot)

    def on_level_up(self, srv, ev):
        # The slot is `ID` here; the profile says who, nothing more.
        slot = intval(ev.get("ID"), intval(ev.get("PlayerID"), -1))
        srv.bind(slot, parse_profile(ev.get("Profile"), ev.get("Store")), seen=False)

    def on_player_action(self, srv, ev):
        slot = intval(ev.get("PlayerID"), -1)
        srv.bind(slot, parse_profile(ev.get("Profile"), ev.get("Store")), seen=False)

    def on_disconnect(self, srv, ev):
        slot = intval(ev.get("PlayerID"), -1)
        s = srv.slots.pop(slot, None)
        if s is not None and is_human(s.ident):
            srv.saw(s.ident, s.team)

    def feed_player_data(self, srv, ev, seen=True):
        for slot, pd in player_data(ev):
            if slot is None:
                continue
            srv.bind(slot, pd_ident(pd), intval(pd.get("Team")), seen)

    def on_request_data(self, srv, ev):
        self.feed_player_data(srv, ev)
        # request_player may put the PlayerData fields at the top level.
        if intval(ev.get("CaseID")) == 3 and "ID" in ev and "Profile" in ev:
            srv.bind(intval(ev.get("ID")), pd_ident(ev), intval(ev.get("Team")))

    # kills ---------------------------------------------------------------
    def on_death(self, srv, ev):
        self.stats["deaths_events"] += 1
        vslot, victim = srv.resolve(ev, "VictimID", "VictimProfile")
        kslot, killer = srv.resolve(ev, "KillerID", "KillerProfile")
        for slot, ident in ((vslot, victim), (kslot, killer)):
            if is_human(ident):
                srv.saw(ident, srv.team_of(slot))
        if kslot >= 0 and killer is None:
            warn("%s: death with unknown killer slot %d" % (srv.name, kslot))
        if victim is None:
            warn("%s: death with unknown victim slot %d" % (srv.name, vslot))

        flagged = text(ev.get("Teamkill")) == "1"
        kteam, vteam = srv.team_of(kslot), srv.team_of(vslot)
        same_team = self.mode in ("tdm", "ctf") and kteam in (1, 2) and kteam == vteam
        if self.mode in ("tdm", "ctf") and kslot >= 0 and kslot != vslot \
                and killer is not None and victim is not None and flagged != same_team:
            warn("%s: Teamkill=%s but teams are %d and %d (killer %d, victim %d)"
                 % (srv.name, text(ev.get("Teamkill")), kteam, vteam, kslot, vslot))

        if self.mode in COOP:
            if is_human(killer) and is_bot(victim):
                self.p(killer).add("npc_kills")
            elif is_human(victim) and (kslot == -1 or is_bot(killer)):
                self.p(victim).add("npc_deaths")

        if not (is_human(killer) and is_human(victim)) or killer == victim:
            return
        if flagged or same_team:
            return
        k, v = self.p(killer), self.p(victim)
        k.add("kills")
        v.add("deaths")
        self.stats["rated_kills"] += 1
        if self.mode == "dm":
            rk, rv = self.env.rate_1vs1(k.rating(self.env), v.rating(self.env))
            k.set_rating(rk)
            v.set_rating(rv)
            k.add("games")
            v.add("games")
        elif self.mode == "tdm":
            expected = 1.0 / (1.0 + 10.0 ** ((v.elo - k.elo) / 400.0))
            delta = ELO_K * (1.0 - expected)
            k.elo += delta
            v.elo -= delta

    # team games ----------------------------------------------------------
    def rate_teams(self, team1, team2, winner):
        """Two-team TrueSkill; winner 1, 2 or 0 (draw). Teams: idents."""
        if not team1 or not team2:
            return False
        t1 = sorted(team1)
        t2 = sorted(team2)
        ranks = {1: [0, 1], 2: [1, 0]}.get(winner, [0, 0])
        g1 = [self.p(i).rating(self.env) for i in t1]
        g2 = [self.p(i).rating(self.env) for i in t2]
        n1, n2 = self.env.rate([g1, g2], ranks=ranks)
        for i, r in zip(t1, n1):
            self.p(i).set_rating(r)
            self.p(i).add("games")
        for i, r in zip(t2, n2):
            self.p(i).set_rating(r)
            self.p(i).add("games")
        return True

    def round_note(self, srv, slot):
        """A spawn or team change during a tdm round: the player's team now."""
        if srv.round is None:
            return
        s = srv.slots.get(slot)
        if s is not None and is_human(s.ident) and s.team in (1, 2):
            srv.round[s.ident] = s.team

    def on_round_start(self, srv, ev):
        if srv.round is not None:
            warn("%s: tdm_round_start inside an open round" % srv.name)
        srv.round = {}
        for s in srv.slots.values():
            if is_human(s.ident) and s.team in (1, 2):
                srv.round[s.ident] = s.team

    def on_round_end(self, srv, ev):
        self.stats["rounds"] += 1
        roster = srv.round
        srv.round = None
        if roster is None:
            warn("%s: tdm_round_end without a round start" % srv.name)
            return
        if self.mode != "tdm":
            return
        winner = intval(ev.get("Winner"), 0)
        team1 = [i for i, t in roster.items() if t == 1]
        team2 = [i for i, t in roster.items() if t == 2]
        if DEBUG:
            print("debug: round winner %d team1 %r team2 %r" % (winner, sorted(team1), sorted(team2)),
                  file=sys.stderr)
        if not self.rate_teams(team1, team2, winner):
            return
        self.stats["rated_rounds"] += 1
        for i in team1 + team2:
            t = roster[i]
            if winner == 0:
                self.p(i).add("draws")
            elif t == winner:
                self.p(i).add("wins")
            else:
                self.p(i).add("losses")

    def on_ctf_scored(self, srv, ev):
        self.stats["capture_events"] += 1
        slot, carrier = srv.resolve(ev, "CarrierID", "CarrierProfile")
        team = intval(ev.get("ScoringTeam"))
        if team not in (1, 2):
            warn("%s: ctf_scored with ScoringTeam %r" % (srv.name, ev.get("ScoringTeam")))
            return
        mapped_team = srv.team_of(slot)
        if mapped_team != team:
            warn("%s: scoring carrier slot %d is on team %d, ScoringTeam %d"
                 % (srv.name, slot, mapped_team, team))
        # A bot capture still wins the game for the scoring team's humans.
        if is_human(carrier):
            srv.saw(carrier, team)
            self.p(carrier).add("captures")
        if self.mode != "ctf":
            return
        teams = {1: set(), 2: set()}
        for s in srv.slots.values():
            if is_human(s.ident) and s.team in (1, 2):
                teams[s.team].add(s.ident)
        if is_human(carrier):
            teams[3 - team].discard(carrier)
            teams[team].add(carrier)
        if self.rate_teams(teams[1], teams[2], team):
            self.stats["rated_captures"] += 1

    # matches -------------------------------------------------------------
    def on_match_close(self, srv, ev, eid):
        if eid == 27:
            self.feed_player_data(srv, ev, seen=False)
        if srv.last_close is not None and srv.last_close != eid:
            srv.last_close = None
            return  # 57 after 27 (or 27 after 57): the same match
        self.stats["matches"] += 1
        participants = dict(srv.match_seen)
        if eid == 27:
            for slot, pd in player_data(ev):
                ident = pd_ident(pd)
                if is_human(ident):
                    t = intval(pd.get("Team"), -1)
                    participants[ident] = t if t in (0, 1, 2) else participants.get(ident, -1)
        winner = intval(ev.get("WinnerTeam"), 0)
        coop_won = None
        if self.mode == "zbr":
            winner_slot = intval(ev.get("WinnerID"), -1)
            human_winner = winner_slot >= 0 and is_human(srv.ident_of(winner_slot))
            coop_won = human_winner or (srv.zbr_alive or 0) > 0
        for ident, team in participants.items():
            pl = self.p(ident)
            pl.add("matches")
            if self.mode in COOP:
                pl.add("games")
            if coop_won is not None:
                pl.add("wins" if coop_won else "losses")
            if self.mode == "ctf" and team in (1, 2):
                if winner == 0:
                    pl.add("draws")
                elif team == winner:
                    pl.add("wins")
                else:
                    pl.add("losses")
        srv.match_seen = {}
        srv.zbr_alive = None
        srv.last_close = eid
        if srv.round is not None:
            warn("%s: match closed inside an open tdm round" % srv.name)
            srv.round = None

    def on_match_end(self, srv, ev):
        self.on_match_close(srv, ev, 27)

    def on_game_over(self, srv, ev):
        self.on_match_close(srv, ev, 57)

    def on_match_start(self, srv, ev):
        srv.last_close = None
        srv.zbr_alive = None

    def on_boarded(self, srv, ev):
        slot, ident = srv.resolve(ev, "PlayerID", "Profile")
        if is_human(ident):
            srv.saw(ident, srv.team_of(slot))
            self.p(ident).add("escapes")

    def on_zbr_end(self, srv, ev):
        srv.zbr_alive = intval(ev.get("Alive"))

    def on_new_wave(self, srv, ev):
        self.stats["waves"] += 1
        wave = intval(ev.get("WaveNumber"))
        if wave is None:
            return
        for s in srv.slots.values():
            if is_human(s.ident):
                pl = self.p(s.ident)
                if wave > pl.best_wave:
                    pl.best_wave = wave
                    pl.touched = True

    def on_other_player_event(self, srv, ev):
        """Events that only show a player is there (ctf flag, generators...)."""
        for sk, pk in (("CarrierID", "CarrierProfile"), ("KillerID", "KillerProfile"),
                       ("RepairerID", "RepairerProfile"),
                       ("ReturnPlayerID", "ReturnProfile")):
            if sk in ev:
                slot, ident = srv.resolve(ev, sk, pk)
                if is_human(ident):
                    srv.saw(ident, srv.team_of(slot))

    # output --------------------------------------------------------------
    def result(self):
        out = []
        for ident in sorted(self.players):
            pl = self.players[ident]
            if not pl.touched:
                continue
            row = {"store": ident[0], "profile_id": ident[1],
                   "mu": pl.mu, "sigma": pl.sigma, "elo": pl.elo}
            for c in COUNTERS:
                row[c] = getattr(pl, c)
            out.append(row)
        return {"mode": self.mode, "players": out}


HANDLERS = {
    4: Reference.on_connect,
    5: Reference.on_spawn,
    6: Reference.on_death,
    7: Reference.on_disconnect,
    8: Reference.on_team_change,
    9: Reference.on_level_up,
    12: Reference.on_loaded,
    13: Reference.on_round_start,
    14: Reference.on_round_end,
    17: Reference.on_other_player_event,
    18: Reference.on_other_player_event,
    19: Reference.on_other_player_event,
    20: Reference.on_ctf_scored,
    21: Reference.on_other_player_event,
    22: Reference.on_other_player_event,
    23: Reference.on_other_player_event,
    24: Reference.on_other_player_event,
    25: Reference.on_other_player_event,
    26: Reference.on_other_player_event,
    27: Reference.on_match_end,
    29: Reference.on_match_start,
    30: Reference.on_new_wave,
    34: Reference.on_request_data,
    50: Reference.on_player_action,
    51: Reference.on_player_action,
    55: Reference.on_boarded,
    56: Reference.on_zbr_end,
    57: Reference.on_game_over,
}


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    strict = "--strict" in argv
    global DEBUG
    DEBUG = "--debug" in argv
    summary = "--summary" in argv
    if len(args) != 1:
        print("usage: reference.py [--strict] [--summary] JOURNAL.jsonl", file=sys.stderr)
        return 2
    ref = Reference()
    with open(args[0], encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            raw = raw.strip()
            if not raw:
                continue
            ref.feed(json.loads(raw))
    res = ref.result()
    json.dump(res, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
    if summary:
        ps = res["players"]
        print("summary: mode=%s players=%d kills=%d deaths=%d captures=%d "
              "npc_kills=%d npc_deaths=%d escapes=%d wins=%d losses=%d %s"
              % (res["mode"], len(ps), sum(p["kills"] for p in ps),
                 sum(p["deaths"] for p in ps), sum(p["captures"] for p in ps),
                 sum(p["npc_kills"] for p in ps), sum(p["npc_deaths"] for p in ps),
                 sum(p["escapes"] for p in ps), sum(p["wins"] for p in ps),
                 sum(p["losses"] for p in ps),
                 " ".join("%s=%d" % kv for kv in sorted(ref.stats.items()))),
              file=sys.stderr)
    if strict and WARNINGS:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
