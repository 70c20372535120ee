"""Synthetic CX observation studies with planted, documented truth.

The sample data is what a fresh clone shows and what tests check the analytics against:
personas, stage verdicts and outcome drivers are planted on purpose, so every chart has a
known right answer. Same seed -> byte-identical files; `sample_data/README.md` documents it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxdata.sample.calibration import with_recodes, without_recodes

SAMPLE_DIR: Path = Path(__file__).resolve().parents[2] / "sample_data"
DATA_FILES: list[str] = [
    "retail_store_visits.csv",
    "ecommerce_sessions_de.csv",
    "call_centre_calls.parquet",
    "survey_wide.csv",
]
TRUTH_FILE = "planted_truth.csv"
FRAMEWORK_FILE = "framework.toml"  # the journey framework: stages, touchpoints, catalogue
STUDY_OF_FILE = {"survey_wide.csv": "Post-purchase survey"}  # the wide file has no study column
N_CUSTOMERS, N_RESPONDENTS = 2400, 800
STAGES = ("Awareness", "Consideration", "Purchase", "Delivery", "Usage", "Support")
CHANNELS = ("web", "app", "store", "phone", "email")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
TIERS = ("Basic", "Bronze", "Silver", "Gold")  # not "None": pandas reads that as NA
REGIONS = ("North", "South", "East", "West", "Central")
REGION_SHARES = (0.22, 0.24, 0.18, 0.20, 0.16)
START = np.datetime64("2026-01-01T00:00", "m")
HOME_DELIVERY = "Home delivery"  # important and poor: the only driver of NPS
IRRELEVANT = "Chatbot"  # poor but unimportant: independent of persona and outcomes
NPS_BASE, NPS_SLOPE, NPS_NOISE, HOME_SD = 7.5, 1.3, 1.1, 1.2

# Study -> (observation-id prefix, channels it observes, observers).
STUDIES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "Retail store visits": ("R", ("store",), ("Anna Keller", "Ben Ott", "Clara Roth", "D. Arslan")),
    "E-commerce sessions": ("E", ("web", "app", "email"), ("UX-01", "UX-02", "UX-03")),
    "Call-centre calls": ("C", ("phone",), ("QA Lena", "QA Marco", "QA Sofia")),
}  # fmt: skip
STUDY_OF_CHANNEL = {ch: s for s, (_, chs, _) in STUDIES.items() for ch in chs}


@dataclass(frozen=True)
class Touchpoint:
    """A touchpoint: where it is observed, how it scores, how its notes read."""

    stage: str
    name: str
    channels: tuple[str, ...]
    weight: float  # relative choice weight within (stage, channel)
    offset: float  # added to the persona's stage effect (Chatbot: its fixed mean)
    code: str
    good: tuple[str, str]  # (interaction suffix, note) for score > 0
    bad: tuple[str, str]  # (interaction suffix, note with {n}) for score < 0
    unit: int = 1  # {n} = |score| * unit + a little noise


# Stage, then per touchpoint: name; channels; interaction code, good and bad suffix; notes.
_TOUCHPOINT_TABLE = """
Awareness
  TV ad; store phone; TVAD MEMO MISS; Recalled the TV spot and its offer | Could not recall the spot after {n} prompts
  Social media; web app; SOC LIKE SPAM; Followed a friend's post to the shop | Saw the same ad {n} times, annoyed
  Search ad; web; SEA RELV IRRL; Search ad matched the query | Search ad led to an unrelated page, {n} clicks lost
  Shop window; store; WIN DRAW DULL; Window display drew the customer in | Window display {n} weeks out of date
  E-mail newsletter; email; NEWS OPEN JUNK; Newsletter offer opened and clicked | Newsletter in spam, {n} days late
Consideration
  Website product page; web; PDP CLEAR SLOW; Page answered all questions | Page took {n} seconds to load
  App browse; app; APB SMOOTH CRASH; Browsed the app catalogue with ease | App froze {n} times while browsing
  Review sites; web app; REV TRUST NEG; Found many positive reviews | Read {n} negative reviews before deciding
  Store shelf; store; SHELF FULL GAP; Shelf well stocked and clearly priced | {n} wanted items missing from the shelf
  Store advisor; store; ADV HELP NONE; Advisor gave competent advice | No advisor available for {n} minutes
  Product advice line; phone; ADL HELP HOLD; Agent explained the options patiently | On hold {n} minutes for advice
  E-mail offer; email; OFR FIT OFF; Personalised offer matched the need | Offer irrelevant, {n} reminders ignored
Purchase
  Web checkout; web; WCO FAST FORM; Checkout done in under two minutes | Checkout form rejected input {n} times
  App checkout; app; ACO 1TAP PAY; One-tap payment worked first time | Payment failed {n} times in the app
  Store checkout; store; CHK FAST QUEUE; Paid at the till without waiting | Waited {n} minutes at checkout
  Store parking; store; PARK EASY FULL; Parked right in front of the store | Circled {n} minutes for a parking space
  Phone order; phone; ORD EASY REPEAT; Order taken quickly by phone | Had to repeat the address {n} times
  Order confirmation e-mail; email; CONF CLEAR LATE; Clear, complete confirmation | Confirmation {n} hours late
Delivery
  Home delivery; web app phone email store; HOME ONTIME LATE; Parcel came on the promised day | Parcel {n} days late
  Click & collect; store app web; CC READY WAIT; Order ready at the counter | Waited {n} minutes for the pick-up
  Parcel locker; app web; LOCK OPEN CODE; Locker opened at the first scan | Locker code failed {n} times
Usage
  Onboarding; app web store phone; ONB EASY STUCK; Set-up done in a few minutes | Stuck in set-up for {n} minutes
  Product quality; web app store phone email; QUAL GOOD DEFECT; Works as described | Product faulty after {n} days
  Mobile app use; app; APP HANDY BUG; Uses the app daily, finds it handy | App logged the customer out {n} times
Support
  Call centre; phone; CALL SOLVED HOLD; Solved in one call | On hold {n} minutes, issue unresolved
  Chatbot; web app; BOT ANSWER LOOP; Chatbot answered the question | Chatbot looped {n} times without an answer
  E-mail support; email; MAIL QUICK SLOW; Reply received the same day | Reply took {n} days
  Returns desk; store; RET SMOOTH REFUSE; Return accepted without fuss | Return refused after {n} minutes of debate
  Help pages; web app; HELP FOUND LOST; Found the answer in the help pages | Searched the help pages {n} minutes
"""  # noqa: E501
# Planted touchpoint offsets (added to the persona's stage effect) and choice weights.
OFFSETS = {HOME_DELIVERY: -0.8, "Store parking": -0.6, "Click & collect": 0.4,
           "Parcel locker": 0.3, "Help pages": -0.2}  # fmt: skip
CHATBOT_MEAN = -1.3  # the chatbot's fixed mean score, whoever the customer is
WEIGHTS = {HOME_DELIVERY: 3.0, IRRELEVANT: 2.0, "Store parking": 0.5}


def _parse_touchpoints(table: str) -> list[Touchpoint]:
    """One touchpoint per indented line, under its stage line."""
    out: list[Touchpoint] = []
    stage = ""
    for ln in filter(str.strip, table.splitlines()):
        if not ln.startswith(" "):
            stage = ln
            continue
        name, chs, codes, notes = (x.strip() for x in ln.split(";"))
        code, good, bad = codes.split()
        good_note, bad_note = (x.strip() for x in notes.split("|"))
        unit = 4 if "minutes" in bad_note or "seconds" in bad_note else 1
        offset = CHATBOT_MEAN if name == IRRELEVANT else OFFSETS.get(name, 0.0)
        out.append(Touchpoint(stage, name, tuple(chs.split()), WEIGHTS.get(name, 1.0), offset,
                              code, (good, good_note), (bad, bad_note), unit))  # fmt: skip
    return out


TOUCHPOINTS: list[Touchpoint] = _parse_touchpoints(_TOUCHPOINT_TABLE)
TP = {t.name: t for t in TOUCHPOINTS}


@dataclass(frozen=True)
class Persona:
    """A planted persona: who it is, where it is observed, how each stage feels."""

    name: str
    share: float
    channels: dict[str, float]  # observation channel weights
    effects: tuple[float, ...]  # mean score shift per interaction, per stage (STAGES order)
    age: tuple[float, ...]  # weights over AGE_BANDS
    tier: tuple[float, ...]  # weights over TIERS
    second_study: float  # probability of also being observed in a second study
    story: str
    tp_weights: dict[str, float] = field(default_factory=dict)  # touchpoint multipliers

    @property
    def delight(self) -> list[str]:
        """Stages planted as clearly delighting (effect >= +1)."""
        return [s for s, e in zip(STAGES, self.effects, strict=True) if e >= 1]

    @property
    def disappoint(self) -> list[str]:
        """Stages planted as clearly disappointing (effect <= -1)."""
        return [s for s, e in zip(STAGES, self.effects, strict=True) if e <= -1]


PERSONAS: list[Persona] = [
    Persona("App-first digital natives", .25, {"app": .78, "web": .12, "email": .05, "store": .05},
            (0.3, 0.5, 1.6, -1.6, 0.3, 0.4), (.4, .4, .15, .05, 0, 0), (.3, .4, .25, .05), .25,
            "young, shop in the app; one-tap payment delights, late home deliveries disappoint.",
            {"Parcel locker": 1.5}),
    Persona("Store loyalists", .22, {"store": .78, "phone": .10, "web": .08, "email": .04},
            (0.0, 0.5, 1.6, 0.2, 1.6, -1.6), (0, .05, .15, .35, .35, .1), (.05, .15, .3, .5), .35,
            "Gold-card regulars; love the till and the products, dread returns and the hotline.",
            {"Click & collect": 2}),
    Persona("Phone-reliant seniors", .15, {"phone": .75, "store": .22, "email": .03},
            (1.6, -1.6, 0.0, 0.3, 0.0, -1.6), (0, 0, 0, .05, .25, .7), (.3, .3, .25, .15), .4,
            "65+, order by phone; TV ads appeal, the advice and support lines disappoint."),
    Persona("Bargain web shoppers", .20, {"web": .72, "email": .13, "app": .10, "store": .05},
            (0.3, 1.6, 0.0, -0.3, -1.6, 0.0), (.15, .35, .35, .15, 0, 0), (.6, .3, .1, 0), .25,
            "compare prices on the website; reviews and offers delight, product quality does not."),
    Persona("Omnichannel families", .18, {"store": .40, "app": .35, "web": .20, "email": .05},
            (0.0, 0.3, -1.6, 1.6, 0.3, 0.3), (0, .15, .55, .25, .05, 0), (.15, .3, .4, .15), .85,
            "mix store and app; queues and failed payments disappoint, click & collect delights.",
            {HOME_DELIVERY: 0.15, "Click & collect": 4, "Parcel locker": 3}),
]  # fmt: skip

GERMAN_HEADERS: dict[str, str] = {
    "customer_id": "Kundennummer", "stage": "Phase", "touchpoint": "Kontaktpunkt",
    "channel": "Kanal", "score": "Bewertung", "observed_at": "Zeitpunkt", "observer": "Beobachter",
    "method": "Methode", "note": "Notiz", "study": "Studie", "observation_id": "Beobachtungs-ID",
    "interaction": "Interaktion", "age_band": "Altersgruppe", "region": "Region",
    "loyalty_tier": "Kundenstatus", "nps": "NPS", "satisfied": "Zufrieden",
    "repurchase": "Wiederkauf",
}  # fmt: skip
JA_NEIN = {"yes": "ja", "no": "nein"}
LONG_COLUMNS = ["observation_id", "study", "customer_id", "stage", "touchpoint", "channel",
                "interaction", "score", "observed_at", "method", "observer", "note"]  # fmt: skip
ATTRIBUTES = ["age_band", "region", "loyalty_tier", "nps", "satisfied", "repurchase"]
# Survey item column -> touchpoint (its stage follows from the touchpoint).
SURVEY_ITEMS: dict[str, str] = {
    "Q1 Advertising": "TV ad", "Q2 Website ease": "Website product page",
    "Q3 Store staff": "Store advisor", "Q4 Checkout": "Web checkout",
    "Q5 Delivery speed": HOME_DELIVERY, "Q6 Product quality": "Product quality",
    "Q7 App experience": "Mobile app use", "Q8 Hotline": "Call centre", "Q9 Chatbot": IRRELEVANT,
}  # fmt: skip


def _note(tp: Touchpoint, score: int, rng: np.random.Generator) -> tuple[str, str]:
    """(interaction suffix, note) that read like the score the observer gave."""
    if score == 0:
        return "OK", f"{tp.name}: as expected, nothing notable"
    suffix, text = tp.good if score > 0 else tp.bad
    text = text.format(n=abs(score) * tp.unit + int(rng.integers(0, tp.unit + 1)))
    if abs(score) == 3:
        text += " (customer delighted)" if score > 0 else " (customer upset)"
    return suffix, text


def _customers(rng: np.random.Generator) -> pd.DataFrame:
    """Customers with persona (exact shares, shuffled ids) and attributes."""
    raw = np.array([p.share for p in PERSONAS]) * N_CUSTOMERS
    sizes = np.floor(raw).astype(int)
    sizes[np.argsort(sizes - raw, kind="stable")[: N_CUSTOMERS - sizes.sum()]] += 1
    persona = rng.permutation(np.repeat(np.arange(len(PERSONAS)), sizes))
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(1, N_CUSTOMERS + 1)],
            "k": persona,
            "persona": [PERSONAS[k].name for k in persona],
            "age_band": [AGE_BANDS[rng.choice(6, p=PERSONAS[k].age)] for k in persona],
            "region": [REGIONS[i] for i in rng.choice(5, size=N_CUSTOMERS, p=REGION_SHARES)],
            "loyalty_tier": [TIERS[rng.choice(4, p=PERSONAS[k].tier)] for k in persona],
        }
    )


def _pick(weights: Iterable[float], rng: np.random.Generator) -> int:
    """Index drawn with probability proportional to weights (cheaper than rng.choice)."""
    cum = list(accumulate(weights))
    return bisect_right(cum, rng.random() * cum[-1])


def _journey(cid: str, p: Persona, rng: np.random.Generator) -> tuple[list[Any], Any, float]:
    """One customer's interactions, their stage effects and latent home-delivery experience."""
    by_study: dict[str, float] = {}
    for ch, w in p.channels.items():
        by_study[STUDY_OF_CHANNEL[ch]] = by_study.get(STUDY_OF_CHANNEL[ch], 0) + w
    studies = [max(by_study, key=by_study.__getitem__)]
    others = [s for s in by_study if s != studies[0]]
    if others and rng.random() < p.second_study:
        sw = np.array([by_study[s] for s in others])
        studies.append(others[_pick(sw, rng)])
    chans = [ch for ch in p.channels if STUDY_OF_CHANNEL[ch] in studies]
    cw = np.array([p.channels[ch] for ch in chans])
    eff = np.array(p.effects) + rng.normal(0, 0.4, len(STAGES))
    home = float(eff[3] + TP[HOME_DELIVERY].offset + rng.normal(0, HOME_SD))
    skip = int(rng.integers(len(STAGES))) if rng.random() < 0.35 else -1
    day, rows = int(rng.integers(0, 200)), []
    for s, stage in enumerate(STAGES):
        day += int(rng.integers(1, 12)) if s else 0
        minute = day * 1440 + int(rng.integers(9 * 60, 18 * 60))
        if s == skip:
            continue
        for _ in range(1 + _pick((0.55, 0.35, 0.10), rng)):
            ch = chans[_pick(cw, rng)]
            cands = [t for t in TOUCHPOINTS if t.stage == stage and ch in t.channels]
            tp = cands[_pick([t.weight * p.tp_weights.get(t.name, 1.0) for t in cands], rng)]
            if tp.name == IRRELEVANT:
                mu, sd = tp.offset, 1.0
            elif tp.name == HOME_DELIVERY:
                mu, sd = home, 0.6
            else:
                mu, sd = eff[s] + tp.offset, 1.0
            score = min(3, max(-3, round(mu + sd * rng.standard_normal())))
            suffix, note = _note(tp, score, rng)
            minute += int(rng.integers(2, 25))
            rows.append((cid, stage, tp.name, ch, tp.code, suffix, score, minute, note))
    return rows, eff, home


def _study_frame(obs: pd.DataFrame, study: str, rng: np.random.Generator) -> pd.DataFrame:
    """One study's rows in time order with ids, interaction codes, observer and method."""
    prefix, _, observers = STUDIES[study]
    df = obs[obs["study"] == study].sort_values(["customer_id", "minute"], kind="stable")
    df = df.reset_index(drop=True)
    df["observation_id"] = [f"{prefix}-{i:06d}" for i in range(1, len(df) + 1)]
    df["interaction"] = prefix + "-" + df["code"] + "-" + df["suffix"]
    cust = df["customer_id"].unique()
    who = dict(zip(cust, rng.choice(len(observers), size=len(cust)), strict=True))
    df["observer"] = [observers[who[c]] for c in df["customer_id"]]
    if prefix == "R":
        mystery = dict(zip(cust, rng.random(len(cust)) < 0.2, strict=True))
        method = ["Mystery shopping" if mystery[c] else "Store visit observation"
                  for c in df["customer_id"]]  # fmt: skip
        df["method"] = method
    elif prefix == "E":
        df["method"] = np.where(df["channel"] == "email", "Inbox review", "Session recording")
    else:
        df["method"] = "Call listening"
    df["observed_at"] = START + df["minute"].to_numpy().astype("timedelta64[m]")
    return df


def generate(seed: int = 7) -> dict[str, pd.DataFrame]:
    """All sample tables in memory, keyed by file name, exactly as written to disk."""
    rng = np.random.default_rng(seed)
    cust = _customers(rng)
    rows: list[Any] = []
    effects, home = [], []
    for cid, k in zip(cust["customer_id"], cust["k"], strict=True):
        r, e, latent = _journey(cid, PERSONAS[k], rng)
        rows += r
        effects.append(e)
        home.append(latent)
    cols = ["customer_id", "stage", "touchpoint", "channel", "code", "suffix", "score", "minute"]
    obs = pd.DataFrame(rows, columns=[*cols, "note"])
    obs["study"] = obs["channel"].map(STUDY_OF_CHANNEL)
    # Outcomes: NPS from the home-delivery latent only; satisfied from NPS; repurchase from
    # the mean observed score without the chatbot (which has no effect on any outcome).
    h = np.array(home)
    nps = np.clip(np.rint(NPS_BASE + NPS_SLOPE * h + rng.normal(0, NPS_NOISE, len(h))), 0, 10)
    cust["nps"] = nps.astype("int64")
    sat = (nps >= 7) ^ (rng.random(len(h)) < 0.08)
    cust["satisfied"] = np.where(sat, "yes", "no")
    mean_score = obs[obs["touchpoint"] != IRRELEVANT].groupby("customer_id")["score"].mean()
    m = cust["customer_id"].map(mean_score).fillna(0).to_numpy()
    buy = rng.random(len(h)) < 1 / (1 + np.exp(-(0.3 + 1.5 * m)))
    cust["repurchase"] = np.where(buy, "yes", "no")
    attrs = cust.set_index("customer_id")[ATTRIBUTES]

    tables: dict[str, pd.DataFrame] = {}
    for fname, study in zip(DATA_FILES[:3], STUDIES, strict=True):
        df = _study_frame(obs, study, rng)[LONG_COLUMNS].join(attrs, on="customer_id")
        if fname.endswith(".parquet"):
            df["observed_at"] = df["observed_at"].astype("datetime64[ms]")
        else:
            df["observed_at"] = df["observed_at"].dt.strftime("%Y-%m-%dT%H:%M:%S")
        if fname.endswith("_de.csv"):
            df["satisfied"] = df["satisfied"].map(JA_NEIN)
            df["repurchase"] = df["repurchase"].map(JA_NEIN)
            df = df.rename(columns=GERMAN_HEADERS)
        tables[fname] = df
    tables["survey_wide.csv"] = _survey(cust, np.array(effects), h, obs, rng)
    retail = DATA_FILES[0]  # its re-codes come last, from their own random stream
    tables[retail] = with_recodes(tables[retail], STUDIES["Retail store visits"][2], seed)
    tables[TRUTH_FILE] = cust[["customer_id", "persona"]].copy()
    return tables


def _survey(
    cust: pd.DataFrame, eff: Any, home: Any, obs: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Wide post-purchase survey of a customer subset, consistent with their journeys."""
    idx = np.sort(rng.choice(len(cust), size=N_RESPONDENTS, replace=False))
    ids = cust["customer_id"].to_numpy()[idx]
    used = obs.groupby("customer_id")["channel"].agg(set)
    out = pd.DataFrame({"Respondent": ids, "Region": cust["region"].to_numpy()[idx]})
    for col, name in SURVEY_ITEMS.items():
        tp = TP[name]
        if name == IRRELEVANT:
            latent = tp.offset + rng.normal(0, 1.0, len(idx))
        elif name == HOME_DELIVERY:
            latent = home[idx] + rng.normal(0, 0.5, len(idx))
        else:
            latent = eff[idx, STAGES.index(tp.stage)] + tp.offset + rng.normal(0, 0.8, len(idx))
        rating = np.clip(np.rint(3 + latent / 1.5), 1, 5).astype("int64")
        seen = np.array([bool(used[c] & set(tp.channels)) for c in ids])
        na = (~seen & (rng.random(len(idx)) < 0.85)) | (rng.random(len(idx)) < 0.04)
        out[col] = np.where(na, 0, rating)
    out["Recommend (0-10)"] = cust["nps"].to_numpy()[idx]
    return out


def long_frame(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The three observation logs in canonical columns (German file translated back), one
    observer per unit: the calibration re-codes are left out."""
    de = tables[DATA_FILES[1]].rename(columns={v: k for k, v in GERMAN_HEADERS.items()})
    back = {v: k for k, v in JA_NEIN.items()}
    de["satisfied"], de["repurchase"] = de["satisfied"].map(back), de["repurchase"].map(back)
    pq_df = tables[DATA_FILES[2]].copy()
    pq_df["observed_at"] = pq_df["observed_at"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    retail = without_recodes(tables[DATA_FILES[0]])
    return pd.concat([retail, de, pq_df], ignore_index=True)


STAGE_ORDER = "order = [" + ", ".join(f'"{s}"' for s in STAGES) + "]"
GERMAN_TOML = f"""# German headers (Kundennummer, Phase, Bewertung, ...) are detected, not mapped.
[outcomes]
satisfied = {{ column = "Zufrieden", positive = ["ja"] }}
repurchase = {{ column = "Wiederkauf", positive = ["ja"] }}
nps = {{ column = "NPS" }}

[attributes]  # stored under the English names the other studies use
age_band = "Altersgruppe"
region = "Region"
loyalty_tier = "Kundenstatus"

[stages]
{STAGE_ORDER}
"""
OUTCOMES_TOML = """# Canonical headers are detected; the mapping only names the outcome columns.
[outcomes]
satisfied = { column = "satisfied", positive = ["yes"] }
repurchase = { column = "repurchase", positive = ["yes"] }
nps = { column = "nps" }
"""
SURVEY_TOML = f"""# Wide post-purchase survey: one row per respondent, one column per rated item.
# The study is a constant, not a column: import with --study "Post-purchase survey".
[columns]
customer_id = "Respondent"

[wide]
scale = [1, 5]  # linear: 1 -> -3, 3 -> 0, 5 -> +3, i.e. score = (rating - 3) * 1.5
not_applicable = [0]

[wide.items]
{"".join(f'"{c}" = {{ stage = "{TP[t].stage}", touchpoint = "{t}" }}{chr(10)}'
         for c, t in SURVEY_ITEMS.items())}
[outcomes]
nps = {{ column = "Recommend (0-10)" }}

[attributes]
region = "Region"

[stages]
{STAGE_ORDER}
"""  # fmt: skip
