#!/usr/bin/env python3
"""Writes tests/data/real_shaped/: game traffic shaped like a real Boring Man 2
server's, written by hand from the facts in protocol.md ("What real servers
send"), and what bman must make of it.

- dm.jsonl: a deathmatch with three humans, two bots with Steam-looking
  profiles (`bot2`, `bot13`, StoreID 0), one bot added mid-match with
  `addbot` (first seen in a team change), a level-up with `ID`, a world kill
  with `KillerWeapon "-1"`, no-assister deaths (`AssisterID "-1"`), `!rank`
  from a human and from a bot, and match_end PlayerData with `Bot "1"`,
  `ClanID "-1"`/`""` and `Hat2`.
- zbr.jsonl: a Zombrains round (GameModeID 3): NPC zombies (`""`/-1 with
  EnemyType/EnemyRank), revives, a weapon buy, the helicopter, one escape,
  zombrains_end and game_over with the game's banner.
- expected.json: the humans' stats. DM ratings come from the Python
  `trueskill` package over the human-vs-human kills alone.

Each line of a .jsonl is {"id": EVENT_ID, "json": "<the frame's JSON text>"},
with keys in the arbitrary order real servers use. Run with trueskill 0.4.5:

    python3 -m venv /tmp/ts && /tmp/ts/bin/pip install trueskill==0.4.5
    /tmp/ts/bin/python tools/real_shaped_fixture.py
"""

import json
import os

import trueskill

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "real_shaped")
T0 = 1764500000


def profile(pid, store):
    return json.dumps({"ProfileID": pid, "StoreID": store}, separators=(",", ":"))


NPC = profile("", "-1")
SHAIGRO = ("0", "Shaigro", "76561198000000001", "0")
PUNCH = ("1", "Demonic Punch", "76561198000000002", "0")
NYX = ("4", "Nyx", "284375839201928374", "1")  # a Discord-store human
NICKEL = ("2", "Bloody Nickel", "bot2", "0")
KEVIN = ("3", "Selfish Kevin", "bot13", "0")
GUS = ("5", "Grumpy Gus", "bot5", "0")


class Traffic:
    def __init__(self):
        self.lines = []
        self.t = T0

    def emit(self, event_id, fields, time_first=False):
        """Time and EventID go first or last: real servers send keys in any order."""
        self.t += 2
        stamp = {"Time": str(self.t), "EventID": str(event_id)}
        body = {**stamp, **fields} if time_first else {**fields, **stamp}
        self.lines.append({"id": event_id, "json": json.dumps(body, separators=(",", ":"))})

    def write(self, name):
        with open(os.path.join(OUT, name), "w") as f:
            for line in self.lines:
                f.write(json.dumps(line, separators=(",", ":")) + "\n")


def connect(tr, who, ip):
    slot, name, pid, store = who
    tr.emit(4, {"IP": ip, "PlayerName": name, "IsAdmin": "0", "PlayerID": slot,
                "Profile": profile(pid, store)})
    tr.emit(12, {"Profile": profile(pid, store), "PlayerID": slot}, time_first=True)


def spawn(tr, who, team="0", hat="12"):
    slot, name, pid, store = who
    tr.emit(5, {"Weap2": "0", "Hat": hat, "Hat2": "0", "Name": name, "X": "1040", "Y": "380",
                "Color": "16711680", "Team": team, "PlayerID": slot, "Weap1": "12",
                "Equip": "3", "OffWeap": "-1", "OffWeap2": "-1",
                "Profile": profile(pid, store)})


def death(tr, killer, victim, weapon="12"):
    """killer None is the world."""
    fields = {
        "VictimID": victim[0], "VictimProfile": profile(victim[2], victim[3]),
        "KillerID": killer[0] if killer else "-1",
        "KillerProfile": profile(killer[2], killer[3]) if killer else "",
        "KillerWeapon": weapon if killer else "-1",
        "AssisterID": "-1", "AssisterProfile": NPC,
        "Headshot": "0", "DeathType": "0", "Drone": "0", "Teamkill": "0",
        "VictimX": "1200", "VictimY": "400",
    }
    if killer:
        fields.update({"KillerX": "1100", "KillerY": "410"})
    tr.emit(6, fields, time_first=bool(killer) and killer[0] == "0")


def player_data(who, kills, deaths, bot):
    slot, name, pid, store = who
    return {"ID": slot, "Name": name, "Color": "16711680", "Team": "0", "Kills": str(kills),
            "Deaths": str(deaths), "Assists": "0", "Score": str(kills * 10), "Profile": pid,
            "Store": store, "Alive": "1", "Bot": "1" if bot else "0", "Hat": "12", "Hat2": "0",
            "Money": "0", "RespawnCost": "0", "Premium": "0", "X": "100", "Y": "200",
            "ClanID": "" if bot else "-1", "ClanTag": "", "WeaponsDealRank": "0"}


def dm():
    tr = Traffic()
    tr.emit(36, {"RconIP": "::ffff:127.0.0.1", "RconPort": "51234", "RconSocket": "3",
                 "GameModeID": "0", "MapName": "Fields"})
    tr.emit(29, {"MapName": "Fields", "MapFile": "maps\\stock\\fields\\", "GameModeID": "0",
                 "WorkshopID": "0", "MD5": "3f2a9c"}, time_first=True)
    connect(tr, SHAIGRO, "203.0.113.7")
    connect(tr, PUNCH, "203.0.113.8")
    connect(tr, NYX, "203.0.113.9")
    tr.emit(4, {"PlayerName": NICKEL[1], "PlayerID": NICKEL[0], "IP": "", "IsAdmin": "0",
                "Profile": profile(NICKEL[2], NICKEL[3])})
    for who in (SHAIGRO, PUNCH, NYX, NICKEL, KEVIN):
        spawn(tr, who)
    tr.emit(9, {"SkinType": "34", "Profile": profile(SHAIGRO[2], SHAIGRO[3]), "ID": "0",
                "SkinWeapon": "43", "Level": "2656"})
    death(tr, SHAIGRO, PUNCH)          # rated: Shaigro beats Punch
    death(tr, SHAIGRO, NICKEL)         # a bot: nothing
    death(tr, KEVIN, NYX)              # a bot: nothing
    death(tr, NICKEL, KEVIN)           # bots among themselves: nothing
    spawn(tr, PUNCH)
    spawn(tr, NYX)
    death(tr, NYX, SHAIGRO, "7")       # rated: Nyx beats Shaigro
    death(tr, PUNCH, NYX, "3")         # rated: Punch beats Nyx
    death(tr, None, PUNCH)             # the world: nothing
    spawn(tr, NYX)
    death(tr, NYX, NYX, "21")          # a suicide: nothing
    # `addbot "1" "0"` mid-match: a team change first, then the spawn.
    tr.emit(8, {"PlayerID": GUS[0], "Profile": profile(GUS[2], GUS[3]), "OldTeam": "-1",
                "NewTeam": "0", "Autobalanced": "0"})
    tr.emit(35, {"Command": 'addbot "1" "0"', "Source": "0",
                 "ReturnText": "ADDBOT: Added bot to team 1"})
    spawn(tr, GUS)
    spawn(tr, SHAIGRO)
    spawn(tr, PUNCH)
    death(tr, GUS, SHAIGRO)            # a bot: nothing
    spawn(tr, SHAIGRO)
    death(tr, SHAIGRO, GUS)            # a bot: nothing
    tr.emit(42, {"PlayerID": SHAIGRO[0], "Name": SHAIGRO[1], "NameColor": "16711680",
                 "Profile": profile(SHAIGRO[2], SHAIGRO[3]), "Message": "!rank", "Team": "0"})
    tr.emit(42, {"Message": "!rank", "Team": "0", "PlayerID": NICKEL[0], "Name": NICKEL[1],
                 "NameColor": "255", "Profile": profile(NICKEL[2], NICKEL[3])})
    death(tr, PUNCH, SHAIGRO, "12")    # rated: Punch beats Shaigro
    end = {"WinnerText": "DEMONIC PUNCH WINS", "WinnerColor": "16711680", "WinnerID": "1",
           "WinnerTeam": "-1", "GameModeID": "0", "NextMapFile": "maps\\stock\\dust\\",
           "NextMap": "Dust"}
    stats = {SHAIGRO: (2, 3), PUNCH: (2, 2), NYX: (1, 3), NICKEL: (1, 1), KEVIN: (1, 1),
             GUS: (1, 1)}
    for who, (kills, deaths) in stats.items():
        end["PlayerData" + who[0]] = player_data(who, kills, deaths, who[2].startswith("bot"))
    tr.emit(27, end)
    tr.emit(57, {"WinnerText": "DEMONIC PUNCH WINS", "WinnerColor": "16711680", "WinnerID": "1",
                 "WinnerTeam": "-1", "GameModeID": "0", "CurrentMapName": "Fields",
                 "CurrentMapFile": "maps\\stock\\fields\\"})
    tr.write("dm.jsonl")

    env = trueskill.TrueSkill()  # the package's defaults, which bman uses
    r = {who[2]: env.create_rating() for who in (SHAIGRO, PUNCH, NYX)}
    for winner, loser in ((SHAIGRO, PUNCH), (NYX, SHAIGRO), (PUNCH, NYX), (PUNCH, SHAIGRO)):
        r[winner[2]], r[loser[2]] = env.rate_1vs1(r[winner[2]], r[loser[2]])
    counts = {SHAIGRO: (1, 2), PUNCH: (2, 1), NYX: (1, 1)}
    return [
        {"store": int(who[3]), "profile_id": who[2], "name": who[1],
         "mu": r[who[2]].mu, "sigma": r[who[2]].sigma, "kills": k, "deaths": d,
         "games": k + d, "matches": 1}
        for who, (k, d) in counts.items()
    ]


def zbr():
    tr = Traffic()
    tr.emit(36, {"RconIP": "::ffff:127.0.0.1", "RconPort": "51240", "RconSocket": "4",
                 "GameModeID": "3", "MapName": "Zombrains Town"})
    tr.emit(29, {"MapName": "Zombrains Town", "MapFile": "maps\\zombrains\\town\\",
                 "GameModeID": "3", "WorkshopID": "0", "MD5": "77aa01"})
    connect(tr, SHAIGRO, "203.0.113.7")
    connect(tr, PUNCH, "203.0.113.8")
    tr.emit(52, {})
    spawn(tr, SHAIGRO, team="1")
    spawn(tr, PUNCH, team="1")
    zombies = [("10", "Zombie", "1"), ("11", "Zpitter", "2"), ("12", "Zhost", "3"),
               ("13", "Zomikaze", "4"), ("14", "Zombie", "1")]
    for slot, name, kind in zombies:
        tr.emit(5, {"PlayerID": slot, "Profile": NPC, "Name": name, "Team": "2", "X": "900",
                    "Y": "300", "Hat": "0", "Color": "65280", "EnemyType": kind,
                    "EnemyRank": "0"})
    z = {slot: (slot, name, "", "-1") for slot, name, _ in zombies}
    death(tr, SHAIGRO, z["10"], "12")  # NPC kill
    death(tr, PUNCH, z["11"], "3")     # NPC kill
    death(tr, z["12"], PUNCH, "-1")    # NPC death
    tr.emit(50, {"PlayerID": PUNCH[0], "Profile": profile(PUNCH[2], PUNCH[3])})
    tr.emit(51, {"Weapon": "7", "Cost": "500", "PlayerID": SHAIGRO[0],
                 "Profile": profile(SHAIGRO[2], SHAIGRO[3])})
    death(tr, SHAIGRO, z["13"], "7")   # NPC kill
    death(tr, z["14"], z["14"], "-1")  # a zomikaze blows itself up: nothing
    tr.emit(9, {"Level": "41", "ID": "1", "SkinWeapon": "3", "SkinType": "2",
                "Profile": profile(PUNCH[2], PUNCH[3])})
    tr.emit(53, {"LandingX": "2048", "LandingY": "512"})
    tr.emit(54, {"X": "2048", "Y": "512"})
    tr.emit(55, {"PlayerID": SHAIGRO[0], "Profile": profile(SHAIGRO[2], SHAIGRO[3])})
    death(tr, z["12"], PUNCH, "-1")    # NPC death
    tr.emit(56, {"Alive": "1", "Dead": "1"})
    tr.emit(57, {"WinnerText": "SHAIGRO WINS", "WinnerColor": "16711680", "WinnerID": "0",
                 "WinnerTeam": "-1", "GameModeID": "3", "CurrentMapName": "Zombrains Town",
                 "CurrentMapFile": "maps\\zombrains\\town\\"})
    tr.write("zbr.jsonl")
    return [
        {"store": 0, "profile_id": SHAIGRO[2], "name": SHAIGRO[1], "npc_kills": 2,
         "npc_deaths": 0, "escapes": 1, "wins": 1, "losses": 0, "matches": 1},
        {"store": 0, "profile_id": PUNCH[2], "name": PUNCH[1], "npc_kills": 1,
         "npc_deaths": 2, "escapes": 0, "wins": 1, "losses": 0, "matches": 1},
    ]


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {
        "dm": dm(),
        "zbr": zbr(),
        "levels": {SHAIGRO[2]: 2656, PUNCH[2]: 41},
        "bots": [NICKEL[1], KEVIN[1], GUS[1]],
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
