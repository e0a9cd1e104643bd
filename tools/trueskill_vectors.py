#!/usr/bin/env python3
"""Golden TrueSkill vectors for `bman::ratings`, produced by the reference
Python implementation (`trueskill` 0.4.5 from PyPI).

The Rust side must reproduce every rating here to 1e-9
(`tests/ratings_golden.rs`), which pins our numbers to the package the
community's earlier tools used, so `bman rerate` gives the same leaderboards.

This script installs nothing. Run it from the repository root with:

    python3 -m venv /tmp/ts && /tmp/ts/bin/pip install trueskill==0.4.5 \
        && /tmp/ts/bin/python tools/trueskill_vectors.py \
        > tests/data/trueskill_vectors.json

The output is deterministic (fixed seed, default pure-Python math backend),
so regenerating it must give a byte-identical file. If you add or remove
cases, update the expected counts in `tests/ratings_golden.rs`.
"""

import json
import random
import sys

import trueskill

SEED = 20240611

# Python's repr of a float is the shortest string that round-trips, so the
# JSON holds exactly the doubles the reference computed.


def params_of(env):
    return {
        "mu": env.mu,
        "sigma": env.sigma,
        "beta": env.beta,
        "tau": env.tau,
        "draw_probability": env.draw_probability,
    }


def pair(r):
    return [float(r.mu), float(r.sigma)]


DEFAULT_ENV = trueskill.TrueSkill()
# A different beta and tau, and draws never expected.
NO_DRAW_ENV = trueskill.TrueSkill(beta=6.0, tau=0.2, draw_probability=0.0)
# Draws common, a tighter beta.
DRAWISH_ENV = trueskill.TrueSkill(beta=3.0, tau=0.05, draw_probability=0.25)
# The same model on an Elo-like scale.
SCALED_ENV = trueskill.TrueSkill(
    mu=1500.0, sigma=500.0, beta=250.0, tau=5.0, draw_probability=0.10
)

RANKS = {"team1": [0, 1], "team2": [1, 0], "draw": [0, 0]}


def one_vs_one_chain(name, env, rng, players, kills):
    """A deathmatch: random kills among `players`, ratings carried forward."""
    ratings = [env.create_rating() for _ in range(players)]
    initial = [pair(r) for r in ratings]
    steps = []
    for _ in range(kills):
        winner, loser = rng.sample(range(players), 2)
        if env is DEFAULT_ENV:
            # The module-level function uses the global (default) environment,
            # which is exactly what the old tools called.
            new_w, new_l = trueskill.rate_1vs1(ratings[winner], ratings[loser])
        else:
            new_w, new_l = env.rate_1vs1(ratings[winner], ratings[loser])
        ratings[winner], ratings[loser] = new_w, new_l
        steps.append(
            {
                "winner": winner,
                "loser": loser,
                "expected": [pair(r) for r in ratings],
            }
        )
    return {
        "name": name,
        "params": params_of(env),
        "initial": initial,
        "steps": steps,
    }


def random_team(rng, size, mu_lo=10.0, mu_hi=40.0, sigma_lo=1.0, sigma_hi=25.0 / 3.0):
    return [
        trueskill.Rating(rng.uniform(mu_lo, mu_hi), rng.uniform(sigma_lo, sigma_hi))
        for _ in range(size)
    ]


def team_case(name, env, team1, team2, outcome):
    new1, new2 = env.rate([tuple(team1), tuple(team2)], ranks=RANKS[outcome])
    return {
        "name": name,
        "params": params_of(env),
        "team1": [pair(r) for r in team1],
        "team2": [pair(r) for r in team2],
        "outcome": outcome,
        "expected_team1": [pair(r) for r in new1],
        "expected_team2": [pair(r) for r in new2],
    }


def team_cases(rng):
    cases = []
    # Even teams 2v2 .. 8v8 with varied mu/sigma, every outcome.
    for size in range(2, 9):
        for outcome in ("team1", "team2", "draw"):
            t1 = random_team(rng, size)
            t2 = random_team(rng, size)
            cases.append(
                team_case("%dv%d_%s" % (size, size, outcome), DEFAULT_ENV, t1, t2, outcome)
            )
    # Upsets: a clearly weaker team wins (or holds a draw).
    for size, outcome in ((2, "team1"), (4, "team1"), (6, "draw"), (8, "team1")):
        weak = random_team(rng, size, 12.0, 18.0, 1.5, 4.0)
        strong = random_team(rng, size, 32.0, 38.0, 1.5, 4.0)
        cases.append(
            team_case("upset_%dv%d_%s" % (size, size, outcome), DEFAULT_ENV, weak, strong, outcome)
        )
    # The same upset seen from the other side (team 2 is the weak winner).
    weak = random_team(rng, 5, 12.0, 18.0, 1.5, 4.0)
    strong = random_team(rng, 5, 32.0, 38.0, 1.5, 4.0)
    cases.append(team_case("upset_5v5_team2", DEFAULT_ENV, strong, weak, "team2"))
    # Uneven teams (a player short, or a stack).
    for (n1, n2) in ((3, 5), (5, 3), (1, 4)):
        for outcome in ("team1", "team2", "draw"):
            t1 = random_team(rng, n1)
            t2 = random_team(rng, n2)
            cases.append(
                team_case("%dv%d_%s" % (n1, n2, outcome), DEFAULT_ENV, t1, t2, outcome)
            )
    # One against one through the team API must equal rate_1vs1.
    cases.append(
        team_case("1v1_team_api", DEFAULT_ENV, random_team(rng, 1), random_team(rng, 1), "team2")
    )
    # Fresh players only (every rating the default).
    fresh = [DEFAULT_ENV.create_rating() for _ in range(8)]
    cases.append(team_case("fresh_4v4_team1", DEFAULT_ENV, fresh[:4], fresh[4:], "team1"))
    cases.append(team_case("fresh_4v4_draw", DEFAULT_ENV, fresh[:4], fresh[4:], "draw"))
    # Non-default environments. A draw with draw_probability 0 has no
    # meaning (zero draw margin), so that environment only sees decisive games.
    for (n1, n2) in ((2, 2), (4, 4), (3, 5)):
        for outcome in ("team1", "team2"):
            t1 = random_team(rng, n1)
            t2 = random_team(rng, n2)
            cases.append(
                team_case("nodraw_%dv%d_%s" % (n1, n2, outcome), NO_DRAW_ENV, t1, t2, outcome)
            )
    for (n1, n2) in ((2, 2), (6, 6), (4, 2)):
        for outcome in ("team1", "team2", "draw"):
            t1 = random_team(rng, n1)
            t2 = random_team(rng, n2)
            cases.append(
                team_case("drawish_%dv%d_%s" % (n1, n2, outcome), DRAWISH_ENV, t1, t2, outcome)
            )
    for outcome in ("team1", "team2", "draw"):
        t1 = random_team(rng, 3, 1200.0, 1800.0, 80.0, 500.0)
        t2 = random_team(rng, 3, 1200.0, 1800.0, 80.0, 500.0)
        cases.append(team_case("scaled_3v3_%s" % outcome, SCALED_ENV, t1, t2, outcome))
    return cases


def main():
    if trueskill.__version__ != "0.4.5":
        sys.exit("need trueskill 0.4.5, found %s" % trueskill.__version__)
    # The default backend (None) is the package's own pure-Python cdf/pdf/ppf,
    # which is what `bman::ratings` reproduces.
    if DEFAULT_ENV.cdf is not trueskill.backends.cdf:
        sys.exit("unexpected math backend")
    rng = random.Random(SEED)
    one_vs_one = [
        one_vs_one_chain("default_5p_50k", DEFAULT_ENV, rng, 5, 50),
        one_vs_one_chain("nodraw_5p_50k", NO_DRAW_ENV, rng, 5, 50),
        one_vs_one_chain("scaled_5p_50k", SCALED_ENV, rng, 5, 50),
    ]
    out = {
        "generator": "trueskill %s (tools/trueskill_vectors.py, seed %d)"
        % (trueskill.__version__, SEED),
        "one_vs_one": one_vs_one,
        "two_teams": team_cases(rng),
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
