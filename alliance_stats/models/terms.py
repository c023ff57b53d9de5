"""Function-call terms of an lme4 formula's fixed part, made into columns the engine reads.

The engine parses column names only; lme4 users write ``factor(age)``, ``I(age^2)``,
``log(dose)``, ``poly(age, 2)``, ``scale(age)`` or ``relevel(sex, ref = "male")``. Each such
call in the fixed part is evaluated on the model frame (the complete rows, as R evaluates
it) into a column named exactly as lme4 labels the term (R's deparse: ``I(age * age)``,
``poly(age, 2)1``), and the call is replaced in the formula by that name in backticks, which
the engine reads as a column name. Categorical results (``factor``, ``relevel``) carry their
levels, reference first, so that coefficients are named as lme4 names them
(``factor(age)10``, ``relevel(Sex, ref = "Male")Female``).

Examples
--------
>>> import pandas as pd
>>> from alliance_stats.models.formula import parse_formula
>>> d = pd.DataFrame({"y": [1.0, 2, 3, 4], "age": [8.0, 10, 12, 14], "g": list("aabb")})
>>> ex = expand_terms(parse_formula("y ~ I(age^2) + (1 | g)"), d, {})
>>> ex.parsed.text
'y ~ `I(age^2)` + (1 | g)'
>>> ex.data["I(age^2)"].tolist()
[64.0, 100.0, 144.0, 196.0]
"""

from __future__ import annotations

import ast
import dataclasses
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_stats.errors import InputError
from alliance_stats.models.formula import ParsedFormula

#: functions whose calls are expanded (numeric transforms, then factor codings)
NUMERIC = {"log": np.log, "log1p": np.log1p, "exp": np.exp, "sqrt": np.sqrt, "abs": np.abs}
FUNCTIONS = (*NUMERIC, "I", "scale", "poly", "factor", "relevel", "offset")

_CALL = re.compile(r"\b(" + "|".join(FUNCTIONS) + r")\s*\(")
_TOKEN = re.compile(r"\s*(\"[^\"]*\"|'[^']*'|[A-Za-z_.][A-Za-z0-9_.]*|\d+\.?\d*(?:e-?\d+)?|\S)")
_OPS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide}


@dataclass(frozen=True)
class Expanded:
    """The formula as the engine reads it, its data and the factor levels it needs."""

    parsed: ParsedFormula
    data: pd.DataFrame
    factor_levels: dict[str, list[str]]
    #: the sum of the ``offset()`` terms (``None``: none)
    offset: np.ndarray | None = None
    #: functions ``newdata -> {column: values}`` that make the call columns for new rows,
    #: with the model rows' centre, scale and polynomial basis (as R's ``predict`` does)
    recipes: tuple = ()


def deparse(expr: str) -> str:
    """An expression spelt as R's ``deparse`` spells it (the label lme4 gives a term).

    Examples
    --------
    >>> deparse("I(age*age)"), deparse("poly(age,2)"), deparse("relevel(Sex,ref='Male')")
    ('I(age * age)', 'poly(age, 2)', 'relevel(Sex, ref = "Male")')
    >>> deparse("I(-x^2/2)")
    'I(-x^2/2)'
    """
    tokens = _TOKEN.findall(expr)
    out, prev = "", None
    for tok in tokens:
        if tok[0] in "'\"":
            tok = '"' + tok[1:-1] + '"'
        if tok in "+-" and prev not in (None, "(", ",", "=", "+", "-", "*", "/", "^"):
            out += f" {tok} "
        elif tok in ("*", "="):
            out += f" {tok} "
        elif tok == ",":
            out += ", "
        else:
            out += tok
        prev = tok
    return out


def _calls(text: str) -> list[str]:
    """The outermost function calls in ``text`` (their full text), in order."""
    out, pos = [], 0
    while (m := _CALL.search(text, pos)) is not None:
        depth, end = 0, m.end() - 1
        for end in range(m.end() - 1, len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        out.append(text[m.start() : end + 1])
        pos = end + 1
    return out


def _numeric(expr: str, data: pd.DataFrame, formula: str) -> np.ndarray:
    """Evaluate an arithmetic expression of numeric columns (``+ - * / ^``, numbers)."""
    names: dict[str, str] = {}

    def placeholder(m: re.Match) -> str:
        return names.setdefault(m.group(0), f"_v{len(names)}")

    code = re.sub(r"(?<![\d.])[A-Za-z_.][A-Za-z0-9_.]*", placeholder, expr.replace("^", "**"))
    columns = {v: k for k, v in names.items()}
    try:
        tree = ast.parse(code, mode="eval").body
    except SyntaxError as exc:
        raise InputError(f"formula {formula!r}: cannot read the expression {expr!r}") from exc

    def ev(node):
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return np.power(ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id in columns:
            name = columns[node.id]
            col = data[name]
            if not pd.api.types.is_numeric_dtype(col) or isinstance(col.dtype, pd.CategoricalDtype):
                raise InputError(
                    f"formula {formula!r}: '{name}' in {expr!r} is not numeric; arithmetic "
                    "needs numeric columns (use factor() for categories)"
                )
            return col.to_numpy(dtype=float)
        raise InputError(
            f"formula {formula!r}: {expr!r} uses something other than column names, numbers "
            "and + - * / ^"
        )

    return np.asarray(ev(tree), dtype=float) * np.ones(len(data))


def _level_text(values: pd.Series) -> tuple[pd.Series, list[str]]:
    """Values as R's ``factor()`` labels them, and the levels in R's order."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.astype(str), [str(c) for c in values.cat.categories]
    if pd.api.types.is_numeric_dtype(values):
        uniq = np.sort(values.unique())
        labels = {v: np.format_float_positional(float(v), trim="-") for v in uniq}
        return values.map(labels), [labels[v] for v in uniq]
    uniq = sorted(values.astype(str).unique())
    return values.astype(str), uniq


def _args(call: str) -> list[str]:
    """The comma-separated arguments of ``f(a, b, ...)`` (top level)."""
    inner = call[call.index("(") + 1 : -1]
    out, depth, cur = [], 0, ""
    for ch in inner:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return out


def _factor_of(arg: str, data: pd.DataFrame, levels_known: dict, formula: str):
    if arg.startswith("factor(") and arg.endswith(")"):
        arg = _args(arg)[0]
    if arg not in data.columns:
        raise InputError(
            f"formula {formula!r}: factor() and relevel() take a column name, got {arg!r}"
        )
    values = data[arg]
    if arg in levels_known and not isinstance(values.dtype, pd.CategoricalDtype):
        values = pd.Categorical(values.astype(str), categories=levels_known[arg])
        values = pd.Series(values, index=data.index)
    return _level_text(values)


def _orthogonal_poly(x: np.ndarray, degree: int) -> tuple[np.ndarray, float, np.ndarray]:
    """R's ``poly(x, degree)``: orthonormal polynomial columns (as R's QR construction), the
    centre and the matrix ``T`` with ``columns = vander(x - centre) @ T`` (new values of
    ``x`` go through the same ``T``, as R's ``predict`` of a ``poly`` term)."""
    centre = float(x.mean())
    X = np.vander(x - centre, degree + 1, increasing=True)
    Q, R = np.linalg.qr(X)
    norms = np.sqrt(np.sum((Q * np.diag(R)) ** 2, axis=0))
    T = np.linalg.solve(R, np.diag(np.diag(R) / norms))[:, 1:]
    return X @ T, centre, T


def _evaluate(call: str, data: pd.DataFrame, levels_known: dict, formula: str):
    """``(columns {name: values}, levels {name: levels}, recipe)`` of one call; ``recipe``
    makes the same columns for new rows (the model rows' statistics kept)."""
    name = call[: call.index("(")].strip()
    args = _args(call)
    label = deparse(call)
    if name in NUMERIC or name == "I" or name == "scale":
        if len(args) != 1:
            raise InputError(f"formula {formula!r}: {label} takes one argument")
        v = _numeric(args[0], data, formula)
        if name in NUMERIC:
            with np.errstate(all="ignore"):
                v = NUMERIC[name](v)
            if not np.all(np.isfinite(v)):
                bad = int(np.flatnonzero(~np.isfinite(v))[0])
                raise InputError(
                    f"formula {formula!r}: {label} is not finite in model row {data.index[bad]} "
                    f"(value {_numeric(args[0], data, formula)[bad]:g}); transform the column "
                    "first (e.g. log of a positive quantity, log1p for counts with zeros)"
                )
        elif name == "scale":
            sd = v.std(ddof=1) if len(v) > 1 else 0.0
            if not sd > 0:
                raise InputError(
                    f"formula {formula!r}: {label} of a constant has no spread to scale by"
                )
            centre = v.mean()
            v = (v - centre) / sd
            arg = args[0]
            return (
                {label: v},
                {},
                lambda nd: {label: (_numeric(arg, nd, formula) - centre) / sd},
            )
        return {label: v}, {}, lambda nd: _evaluate(call, nd, levels_known, formula)[0]
    if name == "poly":
        try:
            degree = int(args[1]) if len(args) == 2 else None
        except ValueError:
            degree = None
        if degree is None or degree < 1:
            raise InputError(f"formula {formula!r}: write poly(x, degree) with a whole degree")
        x = _numeric(args[0], data, formula)
        if len(np.unique(x)) <= degree:
            raise InputError(
                f"formula {formula!r}: {label} needs more than {degree} distinct values"
            )
        Z, centre, T = _orthogonal_poly(x, degree)
        names = [f"{label}{k + 1}" for k in range(degree)]

        def poly_recipe(nd):
            new = np.vander(_numeric(args[0], nd, formula) - centre, degree + 1, increasing=True)
            return dict(zip(names, (new @ T).T))

        return dict(zip(names, Z.T)), {}, poly_recipe
    values, levels = _factor_of(args[0], data, levels_known, formula)
    if name == "relevel":
        ref = dict(a.split("=", 1) for a in args[1:] if "=" in a)
        ref = {k.strip(): v.strip().strip("'\"") for k, v in ref.items()}
        if "ref" not in ref:
            raise InputError(f'formula {formula!r}: write relevel(x, ref = "level")')
        if ref["ref"] not in levels:
            raise InputError(
                f"formula {formula!r}: {ref['ref']!r} is not a level of {args[0]} "
                f"(levels: {', '.join(levels)})"
            )
        levels = [ref["ref"]] + [lv for lv in levels if lv != ref["ref"]]
    cat = pd.Categorical(values.to_numpy(dtype=object), categories=levels)
    known = dict(levels_known)

    def factor_recipe(nd):
        return {label: _factor_of(args[0], nd, known, formula)[0].to_numpy(dtype=object)}

    return {label: cat}, {label: levels}, factor_recipe


def expand_terms(
    parsed: ParsedFormula, data: pd.DataFrame, factor_levels: dict[str, list[str]]
) -> Expanded:
    """Evaluate the function-call terms of ``parsed``'s fixed part into columns of ``data``.

    Returns the formula with each call replaced by its lme4 label in backticks, the data with
    those columns added (a copy; the input is not changed) and ``factor_levels`` with the
    levels of the categorical ones. Calls in random-effect terms are refused.
    """
    for term in parsed.random:
        factors = [
            v for v in re.findall(r"[A-Za-z_.][A-Za-z0-9_.]*", term.expr) if v in factor_levels
        ]
        if not term.correlated and factors:
            f = factors[0]
            raise InputError(
                f"formula {parsed.text!r}: ({term.expr} || {term.group}) has the factor '{f}'. "
                f"lme4 expands it to (1 | {term.group}) + (0 + {f} | {term.group}), in which "
                f"'0 + {f}' gives every level of {f} its own, correlated, effect; the engine "
                "would fit a different model. Write lme4's expansion out, or use a numeric "
                f"0/1 column instead of {f} for uncorrelated intercept and slope"
            )
        if _calls(term.expr):
            raise InputError(
                f"formula {parsed.text!r}: the random-effect term ({term.expr} | {term.group}) "
                "uses a function call; add the transformed column to the data and use its name"
            )
    _check_factor_interactions(parsed, factor_levels)
    calls = _calls(parsed.fixed)
    if not calls:
        return Expanded(parsed, data, factor_levels)
    data = data.copy()
    levels = dict(factor_levels)
    terms = [t.strip() for t in parsed.fixed.split("+")]
    offset = None
    for term in [t for t in terms if t.startswith("offset(")]:
        if term not in calls:
            raise InputError(f"formula {parsed.text!r}: offset() must be a term of its own")
        args = _args(term)
        if len(args) != 1:
            raise InputError(f"formula {parsed.text!r}: offset() takes one expression")
        value = _offset_value(args[0], data, parsed.text)
        offset = value if offset is None else offset + value
        terms.remove(term)
        calls.remove(term)
    fixed = " + ".join(terms) if terms else "1"
    recipes = []
    for call in dict.fromkeys(calls):
        columns, new_levels, recipe = _evaluate(call, data, levels, parsed.text)
        recipes.append(recipe)
        if len(columns) > 1 and call not in terms:
            raise InputError(
                f"formula {parsed.text!r}: {deparse(call)} can only stand as a term of its own "
                "(not inside an interaction)"
            )
        for col, values in columns.items():
            data[col] = values
        levels.update(new_levels)
        fixed = fixed.replace(call, " + ".join(f"`{c}`" for c in columns))
    bars = " + ".join(
        f"({t.expr} {'|' if t.correlated else '||'} {t.group})" for t in parsed.random
    )
    text = f"{parsed.text.split('~', 1)[0].strip()} ~ {fixed} + {bars}"
    return Expanded(
        dataclasses.replace(parsed, text=text, fixed=fixed), data, levels, offset, tuple(recipes)
    )


def _check_factor_interactions(parsed: ParsedFormula, factor_levels: dict) -> None:
    """Refuse an interaction in which R would code a factor by an indicator per level.

    R's rule: a factor ``f`` in a term ``f:m`` is coded by contrasts when the term ``m`` (or,
    for ``m`` empty, the intercept) is in the formula, else by one indicator per level
    (``0 + a:b``, ``a:x`` without ``x``, ``a + a:x``). The engine always codes factors in
    interactions by contrasts, so those formulas would fit a different model.
    """
    fixed = re.sub(r"-\s*1\b", "+ 0", parsed.fixed)
    terms = [t.strip() for t in fixed.split("+") if t.strip()]
    intercept = "0" not in terms
    present: set[frozenset] = set()
    for t in terms:
        parts = [p.strip() for p in re.split(r"[*:]", t)]
        if "*" in t:  # a*b*c: every main effect and interaction of them
            n = len(parts)
            for mask in range(1, 2**n):
                present.add(frozenset(parts[i] for i in range(n) if mask >> i & 1))
        else:
            present.add(frozenset(parts))
    for t in terms:
        if ":" not in t or "*" in t or "(" in t:  # (calls in interactions: refused later)
            continue
        parts = [p.strip() for p in t.split(":")]
        for f in (p for p in parts if p in factor_levels):
            margin = frozenset(parts) - {f}
            if intercept if not margin else margin in present:
                continue
            where = " and ".join(sorted(margin)) if margin else "the intercept"
            combined = "_".join(parts)
            raise InputError(
                f"formula {parsed.text!r}: in the term {t}, lme4 codes the factor {f} by one "
                f"indicator per level ({where} is not in the formula on its own), which this "
                "engine would not: it would fit a different model. Write "
                f"{' * '.join(parts)} (all main effects and the interaction; the same model "
                f"reparametrised when that is what you meant), or make the combination one "
                f"column (df['{combined}'] = "
                + " + ':' + ".join(f"df['{p}'].astype(str)" for p in parts)
                + f") and write 0 + {combined}"
            )


def _offset_value(expr: str, data: pd.DataFrame, formula: str) -> np.ndarray:
    """``offset(expr)``: ``expr`` may itself call log(), sqrt(), ... (``log(utterances)``)."""
    inner = _calls(expr)
    if inner == [expr]:
        (values,) = _evaluate(expr, data, {}, formula)[0].values()
        return np.asarray(values, dtype=float)
    return _numeric(expr, data, formula)


#: the column that carries the numbers of trials of a ``cbind()`` outcome
TRIALS_COLUMN = "(trials)"


def expand_response(parsed: ParsedFormula, data: pd.DataFrame):
    """A ``cbind(successes, failures)`` outcome as lme4 reads it: the proportion of
    successes (a column named as the outcome) with the numbers of trials as prior weights.

    Returns ``(parsed, data, trials column or None)``; the formula text names the outcome
    in backticks for the engine. Rows with no trials are missing (dropped, and counted).

    Examples
    --------
    >>> import pandas as pd
    >>> from alliance_stats.models.formula import parse_formula
    >>> d = pd.DataFrame({"s": [1, 3], "n": [4, 4], "g": ["a", "b"]})
    >>> p, out, w = expand_response(parse_formula("cbind(s, n - s) ~ 1 + (1 | g)"), d)
    >>> out["cbind(s, n - s)"].tolist(), out[w].tolist(), p.text
    ([0.25, 0.75], [4.0, 4.0], '`cbind(s, n - s)` ~ 1 + (1 | g)')
    """
    if parsed.trials is None:
        return parsed, data, None
    import difflib

    names = re.findall(r"(?<![\d.])[A-Za-z_.][A-Za-z0-9_.]*", " ".join(parsed.trials))
    for name in names:
        if name not in data.columns:
            close = difflib.get_close_matches(name, [str(c) for c in data.columns], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InputError(f"formula variable '{name}' is not a column of the data{hint}")
    successes, failures = (_numeric(e, data, parsed.text) for e in parsed.trials)
    if np.any((successes < 0) | (failures < 0)):
        row = int(np.flatnonzero((successes < 0) | (failures < 0))[0])
        raise InputError(
            f"formula {parsed.text!r}: {parsed.response} has a negative count in row "
            f"{data.index[row]} ({successes[row]:g}, {failures[row]:g})"
        )
    n = successes + failures
    with np.errstate(invalid="ignore", divide="ignore"):
        prop = np.where(n > 0, successes / n, np.nan)
    out = data.assign(**{parsed.response: prop, TRIALS_COLUMN: np.where(n > 0, n, np.nan)})
    text = f"`{parsed.response}` ~ {parsed.text.split('~', 1)[1].strip()}"
    return dataclasses.replace(parsed, text=text), out, TRIALS_COLUMN
