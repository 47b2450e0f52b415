"""Why each decision was made, in words a rep reads and in fields a program reads.

Every decision carries a JSON object::

    {"why": "sales_outreach for prod-analytics-pro: expected +8,200 (4.1 points more
             likely to buy a 21,000 sale, minus 400 for the motion)",
     "runner_up": "digital_program for prod-analytics-pro: expected +1,100",
     "blocked": ["digital_program: eu_email_needs_opt_in"],
     "explored": false, "holdout": false}

For ``no_action`` the ``why`` says what stopped every move: the holdout, every candidate
blocked by a rule, none clearing the thresholds, or capacity going to better moves.
Built column-wise with polars from one row of facts per decision (see
:mod:`nextmove.decisions.ranking` for how they are found): only the few acting decisions
format their numbers, the lists of blocked moves (which many accounts share) are encoded
once each, and the JSON is joined from its parts, so a million reasons cost a fraction of
a second. A few decisions (one account's) are worded in Python, to the same text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import cache
from typing import Literal

import numpy as np
import polars as pl

__all__ = ["REASON_FACTS", "json_lists", "offer_text", "offer_words", "reasons_column"]

NO_ACTION = "no_action"

REASON_FACTS = (
    "action",
    "product_id",
    "expected_value",
    "uplift",
    "value",
    "holdout",
    "explored",
    "runner_up",
    "had_option",
    "blocked",
)
"""Columns :func:`reasons_column` reads, one row per decision."""


def reasons_column(facts: pl.DataFrame) -> pl.Series:
    """Return each decision's reasons as JSON text, one per row of ``facts``.

    ``facts`` has :data:`REASON_FACTS`: the decision (``action``, ``product_id``,
    ``expected_value``, ``uplift``, ``value`` of a sale), whether it is held out or
    explored, ``runner_up`` (:func:`offer_text` of the best allowed candidate other than
    the action, or null), ``had_option`` (an allowed candidate cleared the thresholds) and
    ``blocked`` (:func:`json_lists` of ``"<action>: <rule id>"`` for each candidate a rule
    stopped: the JSON text of the list).
    """
    acting = facts["action"] != NO_ACTION
    acting = acting.fill_null(False) if acting.null_count() else acting
    rows = np.flatnonzero(acting.to_numpy())
    if facts.height <= _FEW:
        written = _few_reasons(facts)
        if written is not None:
            return pl.Series("reasons", written, dtype=pl.String)
    if len(rows) in (0, facts.height):  # one kind of row (one account's, always)
        encoded = facts.select(_reasons("acting" if len(rows) else "idle"))
        return encoded.to_series().alias("reasons")
    # Only the acting rows are worded as such (they format numbers), then set in place.
    worded = pl.Series("__acting_why", [None], dtype=pl.String).new_from_index(0, facts.height)
    worded = worded.scatter(rows, facts[rows].select(_acting_why()).to_series())
    encoded = facts.hstack([acting.alias("__acting"), worded]).select(_reasons("mixed"))
    return encoded.to_series().alias("reasons")


@cache
def _reasons(rows: Literal["acting", "idle", "mixed"]) -> pl.Expr:
    """The reasons' JSON text of acting rows, idle rows, or both (then with ``__acting``
    and the acting rows' ``__acting_why``)."""
    if rows == "mixed":
        why = pl.when(pl.col("__acting")).then(pl.col("__acting_why")).otherwise(_idle_why())
    else:
        why = _acting_why() if rows == "acting" else _idle_why()
    return pl.concat_str(
        pl.struct(why.alias("why"), pl.col("runner_up")).struct.json_encode().str.head(-1),
        pl.lit(',"blocked":'),  # the object goes on after runner_up
        pl.col("blocked"),
        pl.lit(',"explored":'),
        _flag(pl.col("explored")),
        pl.lit(',"holdout":'),
        _flag(pl.col("holdout")),
        pl.lit("}"),
    )


def json_lists(lists: Sequence[Sequence[str]]) -> list[str]:
    """Return each list of texts as JSON text (escaped as :func:`reasons_column` escapes)."""
    if all(_PLAIN.fullmatch(text) for texts in lists for text in texts):
        return ["[" + ",".join(f'"{text}"' for text in texts) + "]" for texts in lists]
    column = pl.Series("l", [list(texts) for texts in lists], dtype=pl.List(pl.String))
    prefix = len('{"l":')
    encoded = column.to_frame().select(pl.struct("l").struct.json_encode().str.slice(prefix))
    return [text[:-1] for text in encoded.to_series().to_list()]


_PLAIN = re.compile(r"[ !#-\[\]-~]*")
"""Printable ASCII but quote and backslash: text JSON writes as it is (rule ids, actions)."""


def _idle_why() -> pl.Expr:
    """What stopped every move (the acting rows' words replace it)."""
    runner_up, holdout, explored = pl.col("runner_up"), pl.col("holdout"), pl.col("explored")
    told = ~holdout & ~explored & (pl.col("had_option") | runner_up.is_not_null())
    opening = (
        pl.when(holdout)
        .then(pl.lit(_OPENINGS["holdout"]))
        .when(explored)
        .then(pl.lit(_OPENINGS["explored"]))
        .when(pl.col("had_option"))
        .then(pl.lit(_OPENINGS["had_option"]))
        .when(runner_up.is_not_null())
        .then(pl.lit(_OPENINGS["runner_up"]))
        .when(pl.col("blocked") != "[]")
        .then(pl.lit(_OPENINGS["blocked"]))
        .otherwise(pl.lit(_OPENINGS["nothing"]))
    )
    # One concatenation for every row: the runner-up ends the texts that name it.
    return pl.concat_str(opening, pl.when(told).then(runner_up).otherwise(pl.lit("")))


_FEW = 100
"""Up to this many decisions, their reasons are written in Python (no query)."""
_PLAIN_NUMBER = 1e15
"""Below this size, a number with one decimal reads the same in Python and in polars."""
_OPENINGS = {
    "holdout": "held out: part of the control group that proves impact",
    "explored": "exploring: doing nothing was drawn at random",
    "had_option": "capacity went to moves worth more; the best here was ",
    "runner_up": "no move cleared the playbook's thresholds (least value and confidence); "
    "the best was ",
    "blocked": "every possible move was blocked by a rule",
    "nothing": "nothing the account could buy fits any motion",
}


def _few_reasons(facts: pl.DataFrame) -> list[str | None] | None:
    """The reasons :func:`_reasons` gives, written in Python; None when a flag is null, a
    text would need JSON escapes or a number has no plain wording (polars then)."""
    found: list[str | None] = []
    for row in zip(*(facts[name].to_list() for name in REASON_FACTS), strict=True):
        action, product_id, expected_value, uplift, value = row[:5]
        holdout, explored, runner_up, had_option, blocked = row[5:]
        if holdout is None or explored is None or had_option is None or action is None:
            return None
        if runner_up is not None and not _PLAIN.fullmatch(runner_up):
            return None
        if blocked is None:  # concatenated with null: null
            found.append(None)
            continue
        if action == NO_ACTION:
            why = _idle_words(holdout, explored, had_option, runner_up, blocked)
        else:
            try:
                why = _acting_words(action, product_id, expected_value, uplift, value)
            except ValueError:
                return None
            if why is not None and not _PLAIN.fullmatch(why):
                return None
        found.append(
            f'{{"why":{_quoted(why)},"runner_up":{_quoted(runner_up)},"blocked":{blocked},'
            f'"explored":{_word(explored)},"holdout":{_word(holdout)}}}'
        )
    return found


def _idle_words(
    holdout: bool, explored: bool, had_option: bool, runner_up: str | None, blocked: str
) -> str | None:
    """:func:`_idle_why` of one decision."""
    why = _OPENINGS[_idle_opening(holdout, explored, had_option, runner_up, blocked)]
    if not holdout and not explored and (had_option or runner_up is not None):
        return None if runner_up is None else f"{why}{runner_up}"
    return why


def _acting_words(
    action: str,
    product_id: str | None,
    expected_value: float | None,
    uplift: float | None,
    value: float | None,
) -> str | None:
    """:func:`_acting_why` of one decision; ValueError where polars words a number its
    own way (see :func:`offer_words`)."""
    offer = offer_words(action, product_id, expected_value)
    if offer is None or uplift is None:
        return None
    points = round(uplift * 100, 1)  # half to even, as polars rounds
    if not math.isfinite(points) or abs(points) >= _PLAIN_NUMBER:
        raise ValueError(f"uplift {uplift} has no plain wording")
    sale = _whole(0.0 if value is None else value)
    return f"{offer} ({points!r} points more likely to buy a {sale} sale, net of its cost)"


def _idle_opening(
    holdout: bool, explored: bool, had_option: bool, runner_up: str | None, blocked: str
) -> str:
    """Which of :data:`_OPENINGS` an idle decision's reason starts with."""
    if holdout:
        return "holdout"
    if explored:
        return "explored"
    if had_option:
        return "had_option"
    if runner_up is not None:
        return "runner_up"
    return "blocked" if blocked != "[]" else "nothing"


def _quoted(text: str | None) -> str:
    """JSON of a text that needs no escapes (see :data:`_PLAIN`), or null."""
    return "null" if text is None else f'"{text}"'


def _word(flag: bool) -> str:
    return "true" if flag else "false"


def _flag(column: pl.Expr) -> pl.Expr:
    """``true`` / ``false`` (JSON's words are polars' own for a Boolean as text)."""
    return column.cast(pl.String)


def _acting_why() -> pl.Expr:
    """The move, what it is expected to bring, and why."""
    return pl.concat_str(
        offer_text(pl.col("action"), pl.col("product_id"), pl.col("expected_value")),
        pl.lit(" ("),
        (pl.col("uplift") * 100).round(1).cast(pl.String),
        pl.lit(" points more likely to buy a "),
        _money(pl.col("value").fill_null(0.0)),
        pl.lit(" sale, net of its cost)"),
    ).alias("why")


def offer_text(action: pl.Expr, product_id: pl.Expr, expected_value: pl.Expr) -> pl.Expr:
    """A candidate in a few words: ``digital_program for prod-b: expected +1100``.

    Joined with ``concat_str``: ``pl.format`` with a leading placeholder can panic in
    polars 1.x on frames built from filtered batches.
    """
    return pl.concat_str(
        action,
        pl.lit(" for "),
        product_id.fill_null("the account"),
        pl.lit(": expected "),
        _signed(expected_value),
    )


def offer_words(
    action: str | None, product_id: str | None, expected_value: float | None
) -> str | None:
    """:func:`offer_text` of one candidate, in Python (null where it is null).

    Raises ValueError for an expected value polars would not write as a whole number (not
    finite, or beyond 64 bits): the caller words those with :func:`offer_text`.
    """
    if action is None or expected_value is None:
        return None
    rounded = _whole(expected_value)
    sign = "+" if rounded >= 0 else ""
    product = "the account" if product_id is None else product_id
    return f"{action} for {product}: expected {sign}{rounded}"


def _whole(amount: float) -> int:
    """``amount`` rounded half to even, as polars rounds it to a whole number; ValueError
    where polars would not write one (not finite, or beyond 64 bits)."""
    if not math.isfinite(amount) or abs(amount) >= 2.0**63:
        raise ValueError(f"amount {amount} has no whole-number wording")
    return round(amount)


def _signed(amount: pl.Expr) -> pl.Expr:
    """+8,200 or -283."""
    return (
        pl.when(amount.round(0) >= 0).then(pl.lit("+") + _money(amount)).otherwise(_money(amount))
    )


def _money(amount: pl.Expr) -> pl.Expr:
    """Whole currency units: 21320 (no separators: they would cost a regex per row)."""
    return amount.round(0).cast(pl.Int64).cast(pl.String)
