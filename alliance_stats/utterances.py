"""Utterance-level process codes -> one row per session (counts, rates, MITI ratios).

Observer coding (MITI behaviour counts, client change and sustain talk, resistance codes)
is usually done per utterance or segment. :func:`session_codes` aggregates such a table to
the session level so it merges into the canonical session table on ``client`` and
``session``.

Output columns
--------------
``n_utterances``
    Utterances in the session (distinct ``utterance`` ids when given, else rows).
``n_utterances_<speaker>``
    Per speaker, when a ``speaker`` column is given (``n_utterances_therapist`` ...).
``<code>_count``
    Number of times each code occurs (0 when it never occurs in a coded session).
``<code>_per_100``
    ``100 * count / base``, where the base is the utterances of the speaker who produced
    the code (when ``speaker`` is given and the code is used by one speaker only),
    otherwise all utterances of the session.
``pct_cr``, ``r_q``
    When the codes SR, CR and Q are present: ``100 * CR / (SR + CR)`` (percent) and
    ``(SR + CR) / Q``, as in MITI 4.2.1; missing when the denominator is 0.
``pct_ct``
    When CT and ST are present: ``100 * CT / (CT + ST)`` (percent change talk).
``codes_missing_reason``
    Why a ratio is missing (``"r_q: no questions coded (Q = 0)"``), else NA.

Code names are lower-cased and non-alphanumeric characters replaced by ``_`` to make the
column names (``"SR"`` -> ``sr_count``); codes are matched case-insensitively for the MITI
ratios.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from alliance_stats import schema
from alliance_stats.errors import InputError

REASON_COLUMN = "codes_missing_reason"


def _slug(code: str) -> str:
    slug = re.sub(r"[^0-9a-z]+", "_", str(code).strip().lower()).strip("_")
    if not slug:
        raise InputError(f"code {code!r} gives an empty column name; rename the code")
    if slug[0].isdigit():
        slug = f"code_{slug}"
    return slug


def session_codes(
    utterances: pd.DataFrame,
    *,
    code: str = "code",
    client: str = schema.CLIENT,
    session: str = schema.SESSION,
    speaker: str | None = "speaker",
    utterance: str | None = None,
    codes: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Aggregate utterance-level codes to per-session counts and rates per 100 utterances.

    Parameters
    ----------
    utterances
        One row per coded utterance (or per code of an utterance, with ``utterance`` ids):
        client, session, speaker, code. A missing code means an uncoded utterance (it counts
        in the base, not as a code).
    code, client, session
        Column names.
    speaker
        Speaker column (``"therapist"``/``"client"`` ...), or ``None`` to use all
        utterances as the base of every rate. When the default ``"speaker"`` is not a column,
        it is treated as ``None``.
    utterance
        Utterance id column, when an utterance can carry several codes (one row each).
    codes
        Codes to report (others are ignored; absent ones are reported as 0). Default: every
        code in the table.

    Returns
    -------
    DataFrame
        One row per (client, session) present in ``utterances``, sorted; see the module
        docstring for the columns. ``client`` is text, ``session`` int64, as in the session
        table, so ``sessions.merge(result, on=["client", "session"], how="left")`` works.

    Examples
    --------
    >>> import pandas as pd
    >>> u = pd.DataFrame({
    ...     "client": ["a"] * 6, "session": [1] * 6,
    ...     "speaker": ["therapist", "therapist", "therapist", "client", "client", "therapist"],
    ...     "code": ["SR", "CR", "Q", "CT", "ST", "CR"]})
    >>> out = session_codes(u)
    >>> out[["n_utterances", "cr_count", "cr_per_100", "pct_cr", "r_q", "pct_ct"]].values.tolist()
    [[6.0, 2.0, 50.0, 66.66666666666667, 3.0, 50.0]]
    """
    if not isinstance(utterances, pd.DataFrame):
        raise InputError(f"expected a DataFrame of utterances, got {type(utterances).__name__}")
    if speaker == "speaker" and "speaker" not in utterances.columns:
        speaker = None
    needed = [c for c in (client, session, code, speaker, utterance) if c is not None]
    absent = [c for c in needed if c not in utterances.columns]
    if absent:
        raise InputError(
            f"column(s) {absent} not in the utterance table; columns found: "
            f"{list(map(str, utterances.columns))[:15]}. Name them with client=, session=, "
            "code=, speaker= (or speaker=None), utterance="
        )
    frame = utterances
    ids = schema.ids_to_text(frame[client]).str.strip()
    sess = pd.to_numeric(frame[session], errors="coerce")
    bad = ids.isna().to_numpy() | sess.isna().to_numpy() | (np.mod(sess.fillna(0), 1) != 0)
    bad |= (sess < 1).to_numpy()
    if bad.any():
        rows = frame.index[bad][:10].tolist()
        raise InputError(
            f"{int(bad.sum())} utterance row(s) lack a client id or a whole session number "
            f">= 1 (index {rows}); fix or drop them first"
        )
    raw_code = frame[code]
    has_code = raw_code.notna().to_numpy() & (raw_code.astype("str").str.strip() != "").to_numpy()
    code_text = raw_code.astype("str").str.strip().where(has_code)
    base = pd.DataFrame({"client": ids.to_numpy(), "session": sess.astype("int64").to_numpy()})
    if utterance is not None:
        base["utt"] = frame[utterance].to_numpy()
    else:
        base["utt"] = np.arange(len(frame))
    if speaker is not None:
        spk = frame[speaker].astype("str").str.strip().str.lower().to_numpy()
        if frame[speaker].isna().any():
            rows = frame.index[frame[speaker].isna().to_numpy()][:10].tolist()
            raise InputError(f"speaker is missing for utterance row(s) at index {rows}")
        base["speaker"] = spk
    base["code"] = code_text.to_numpy()

    keys = ["client", "session"]
    out = base.groupby(keys, sort=True)["utt"].nunique().rename("n_utterances").to_frame()
    out = out.astype("float64")
    if speaker is not None:
        speakers = sorted(pd.unique(base["speaker"]))
        slugs = {s: _slug(s) for s in speakers}
        by_speaker = (
            base.drop_duplicates(keys + ["utt", "speaker"])
            .groupby(keys + ["speaker"])
            .size()
            .unstack("speaker", fill_value=0)
            .reindex(columns=speakers, fill_value=0)
        )
        for s in speakers:
            out[f"n_utterances_{slugs[s]}"] = (
                by_speaker[s].reindex(out.index, fill_value=0).astype("float64")
            )

    coded = base[base["code"].notna()]
    wanted = list(codes) if codes is not None else sorted(pd.unique(coded["code"]))
    slug_of = {c: _slug(c) for c in wanted}
    clash = pd.Series(slug_of).duplicated(keep=False)
    if clash.any():
        raise InputError(
            f"codes {sorted(pd.Series(slug_of)[clash].index)} give the same column name; "
            "rename them"
        )
    counts = (
        coded.groupby(keys + ["code"]).size().unstack("code", fill_value=0)
        if len(coded)
        else pd.DataFrame(index=out.index)
    )
    for c in wanted:
        n = counts[c].reindex(out.index, fill_value=0) if c in counts else 0
        out[f"{slug_of[c]}_count"] = np.asarray(n, dtype="float64") + np.zeros(len(out))
    for c in wanted:
        denom = out["n_utterances"]
        if speaker is not None:
            used_by = pd.unique(coded.loc[coded["code"] == c, "speaker"])
            if len(used_by) == 1:
                denom = out[f"n_utterances_{slugs[used_by[0]]}"]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"{slug_of[c]}_per_100"] = np.where(
                denom > 0, 100 * out[f"{slug_of[c]}_count"] / denom.where(denom > 0, 1), np.nan
            )

    reasons = [[] for _ in range(len(out))]
    lower = {c.lower(): f"{slug_of[c]}_count" for c in wanted}

    def ratio(name, num, den, why):
        den = np.asarray(den, dtype=float)
        zero = den == 0
        out[name] = np.where(zero, np.nan, np.asarray(num, dtype=float) / np.where(zero, 1, den))
        for pos in np.flatnonzero(zero):
            reasons[pos].append(why)

    if {"sr", "cr", "q"} <= set(lower):
        sr, cr, q = (out[lower[k]] for k in ("sr", "cr", "q"))
        ratio("pct_cr", 100 * cr, sr + cr, "pct_cr: no reflections coded (SR + CR = 0)")
        ratio("r_q", sr + cr, q, "r_q: no questions coded (Q = 0)")
    if {"ct", "st"} <= set(lower):
        ct, st = out[lower["ct"]], out[lower["st"]]
        ratio("pct_ct", 100 * ct, ct + st, "pct_ct: no change or sustain talk coded")
    out[REASON_COLUMN] = pd.Series(
        ["; ".join(r) if r else None for r in reasons], index=out.index, dtype="str"
    )
    out = out.reset_index()
    out["client"] = out["client"].astype("str")
    out["session"] = out["session"].astype("int64")
    return out
