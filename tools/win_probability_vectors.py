#!/usr/bin/env python3
"""Golden vectors for `bman evaluate`'s TrueSkill predictions, produced by
the reference Python implementation (`trueskill` 0.4.5 from PyPI).

The win probability is the recipe from the package's documentation
("Win probability" in its FAQ): Phi((sum mu_a - sum mu_b) /
sqrt((n_a + n_b) * beta^2 + sum sigma^2)), with the package's own cdf;
equal sums give exactly 0.5.

Two kinds of vectors:
- "pairs": teams with ratings and the probability that the first one wins;
- "walks": a history of contests (deathmatch kills, capture-the-flag
  captures) among a few players who are more or less skilled, with the
  probability every contest's winner had before it was rated, and the
  scores `bman evaluate` must report for TrueSkill as configured: mean
  log-loss, accuracy (0.5 counts half), Brier score.

This script installs nothing. Run it from the repository root with:

    python3 -m venv /tmp/ts && /tmp/ts/bin/pip install trueskill==0.4.5 \\
        && /tmp/ts/bin/python tools/win_probability_vectors.py \\
        > tests/data/win_probability_vectors.json

The output is deterministic (fixed seed), so regenerating it must give a
byte-identical file. `tests/evaluate.rs` reads it.
"""

import itertools
import json
import math
import random

import trueskill

SEED = 20251009
ENV = trueskill.TrueSkill()
WIDE_ENV = trueskill.TrueSkill(beta=6.0, tau=0.2, draw_probability=0.0)


def win_probability(env, team1, team2):
    delta_mu = sum(r.mu for r in team1) - sum(r.mu for r in team2)
    if delta_mu == 0:
        # Even by symmetry; the package's erfc approximation gives 0.50000002.
        return 0.5
    sum_sigma = sum(r.sigma ** 2 for r in itertools.chain(team1, team2))
    size = len(team1) + len(team2)
    denom = math.sqrt(size * (env.beta * env.beta) + sum_sigma)
    return env.cdf(delta_mu / denom)


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


def pairs(rng):
    out = []
    for env in (ENV, WIDE_ENV):
        for n1, n2 in ((1, 1), (1, 1), (1, 1), (2, 2), (3, 5), (6, 6), (1, 4)):
            t1 = [trueskill.Rating(rng.uniform(5, 45), rng.uniform(0.5, 9)) for _ in range(n1)]
            t2 = [trueskill.Rating(rng.uniform(5, 45), rng.uniform(0.5, 9)) for _ in range(n2)]
            out.append(
                {
                    "params": params_of(env),
                    "team1": [pair(r) for r in t1],
                    "team2": [pair(r) for r in t2],
                    "p": win_probability(env, t1, t2),
                }
            )
    return out


def scores(ps):
    n = len(ps)
    log_loss = sum(-math.log(max(p, 1e-12)) for p in ps) / n
    accuracy = sum(1.0 if p > 0.5 else 0.5 if p == 0.5 else 0.0 for p in ps) / n
    brier = sum((1.0 - p) ** 2 for p in ps) / n
    return {"contests": n, "log_loss": log_loss, "accuracy": accuracy, "brier": brier}


def walk(rng, mode, contests):
    """Contests among eight players whose hidden strength makes some win more."""
    strength = [rng.gauss(0.0, 1.0) for _ in range(8)]
    ratings = [ENV.create_rating() for _ in range(8)]
    games, ps = [], []
    for _ in range(contests):
        if mode == "dm":
            a, b = rng.sample(range(8), 2)
            if rng.random() > 1.0 / (1.0 + math.exp(strength[b] - strength[a])):
                a, b = b, a
            p = win_probability(ENV, [ratings[a]], [ratings[b]])
            ratings[a], ratings[b] = ENV.rate_1vs1(ratings[a], ratings[b])
            games.append({"winner": a, "loser": b})
        else:
            players = rng.sample(range(8), rng.randint(2, 8))
            cut = rng.randint(1, len(players) - 1)
            t1, t2 = players[:cut], players[cut:]
            s1 = sum(strength[i] for i in t1) / len(t1)
            s2 = sum(strength[i] for i in t2) / len(t2)
            if rng.random() > 1.0 / (1.0 + math.exp(s2 - s1)):
                t1, t2 = t2, t1
            r1, r2 = [ratings[i] for i in t1], [ratings[i] for i in t2]
            p = win_probability(ENV, r1, r2)
            n1, n2 = ENV.rate([tuple(r1), tuple(r2)], ranks=[0, 1])
            for i, r in zip(t1, n1):
                ratings[i] = r
            for i, r in zip(t2, n2):
                ratings[i] = r
            games.append({"scoring": t1, "other": t2})
        ps.append(p)
    return {
        "mode": mode,
        "games": games,
        "p": ps,
        "trueskill": scores(ps),
    }


def main():
    rng = random.Random(SEED)
    out = {
        "generator": "tools/win_probability_vectors.py",
        "trueskill_version": trueskill.__version__,
        "pairs": pairs(rng),
        "walks": [walk(rng, "dm", 400), walk(rng, "ctf", 150)],
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
