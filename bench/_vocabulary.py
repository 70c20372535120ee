"""The values the generated observation logs draw from (ingest and scoring benchmarks), and
how a list of them is spelled as a DuckDB list literal in the generating SQL."""

from __future__ import annotations

from typing import Any

STAGES = ["Awareness", "Consideration", "Purchase", "Delivery", "Usage", "Support"]
TOUCHPOINTS = [
    ["Shop window", "Social media", "TV spot", "Search ad"],
    ["Website", "App browse", "Store shelf", "Comparison site"],
    ["Checkout", "Cashier", "Payment page", "Voucher"],
    ["Home delivery", "Click and collect", "Parcel locker", "Tracking page"],
    ["Unboxing", "First use", "Manual", "App experience"],
    ["Hotline", "Chatbot", "Returns desk", "E-mail support"],
]
CHANNELS = ["store", "web", "app", "phone", "mail"]
METHODS = ["Mystery shopping", "Session recording", "Shadowing", "Diary study"]
NOTES = [
    "Customer smiled at the greeting",
    "Waited longer than expected",
    "Could not find the product",
    "Praised the friendly staff",
    "Abandoned the basket",
    "Asked for help twice",
    "Completed the task quickly",
    "Complained about the price",
    "Left without buying",
    "Recommended the shop to a friend",
]
AGE_BANDS = ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"]
REGIONS = ["North", "South", "East", "West", "Central"]
TIERS = ["None", "Bronze", "Silver", "Gold"]
STUDIES = ["Retail store visits", "E-commerce sessions", "Call centre calls"]


def sql_list(values: list[Any]) -> str:
    """A DuckDB list literal of ints and quoted strings (constants only)."""

    def lit(v: Any) -> str:
        return str(v) if isinstance(v, int) else "'" + str(v).replace("'", "''") + "'"

    return "[" + ", ".join(lit(v) for v in values) + "]"
