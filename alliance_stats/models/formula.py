"""Parse and check lme4-style mixed-model formulas before any engine sees them.

The parser is deliberately small: it finds the response, the fixed-effect terms, the
random-effect bars ``(expr | group)`` / ``(expr || group)`` and every variable name,
so that a typo or an unknown column is reported in plain words (with the closest
column name) instead of as an engine traceback.

Examples
--------
>>> f = parse_formula("y ~ x + (1 + x | client) + (1 | therapist)")
>>> f.response, f.fixed_variables, f.grouping_factors
('y', ('x',), ('client', 'therapist'))
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from alliance_stats.errors import InputError

_NAME = re.compile(r"[A-Za-z_.][A-Za-z0-9_.]*")
#: functions a fixed-effect term may call (expanded by :mod:`alliance_stats.models.terms`)
_FUNCTIONS = frozenset(
    {"log", "log1p", "exp", "sqrt", "abs", "I", "scale", "poly", "factor", "relevel", "offset"}
)
#: what to write instead of functions lme4 users type that are not supported
_INSTEAD = {
    "C": 'relevel(x, ref = "level") sets the reference level',
}


@dataclass(frozen=True)
class RandomTerm:
    """One random-effect bar: ``(expr | group)``; ``correlated`` is False for ``||``."""

    expr: str
    group: str
    correlated: bool

    @property
    def group_factors(self) -> tuple[str, ...]:
        """Variables that make up the grouping factor (``a/b`` and ``a:b`` give both)."""
        return tuple(p.strip() for p in re.split(r"[/:]", self.group) if p.strip())

    @property
    def nested(self) -> bool:
        return "/" in self.group


@dataclass(frozen=True)
class ParsedFormula:
    """A checked formula: response, fixed part, random terms and the variables they use."""

    text: str
    response: str
    fixed: str
    random: tuple[RandomTerm, ...]
    fixed_variables: tuple[str, ...]
    random_variables: tuple[str, ...]
    #: ``cbind(successes, failures)``: the two expressions (the response is then their label)
    trials: tuple[str, str] | None = None

    @property
    def grouping_factors(self) -> tuple[str, ...]:
        out: list[str] = []
        for term in self.random:
            for g in term.group_factors:
                if g not in out:
                    out.append(g)
        return tuple(out)

    @property
    def variables(self) -> tuple[str, ...]:
        out = [self.response]
        for v in (*self.fixed_variables, *self.random_variables, *self.grouping_factors):
            if v not in out:
                out.append(v)
        return tuple(out)


def _names(expr: str) -> list[str]:
    out: list[str] = []
    expr = re.sub(r"\"[^\"]*\"|'[^']*'", "", expr)  # string literals (relevel's ref)
    for m in _NAME.finditer(expr):
        name = m.group(0)
        rest = expr[m.end() :].lstrip()
        if rest.startswith("(") and name in _FUNCTIONS:
            continue
        if rest.startswith("(") and name not in _FUNCTIONS:
            instead = f" ({_INSTEAD[name]})" if name in _INSTEAD else ""
            raise InputError(
                f"formula uses the function '{name}(...)', which is not supported{instead}; "
                f"supported functions: {', '.join(sorted(_FUNCTIONS))}"
            )
        if rest.startswith("=") and not rest.startswith("=="):
            continue  # a keyword argument: relevel(x, ref = "b")
        if re.fullmatch(r"\.?\d.*", name):
            continue
        if name not in out:
            out.append(name)
    return out


def _split_top(expr: str, sep: str = "+") -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in expr:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts]


def parse_formula(formula: str) -> ParsedFormula:
    """Parse an lme4-style formula, raising :class:`InputError` on a malformed one.

    Parameters
    ----------
    formula : str
        For example ``"wai_total ~ session + (1 + session | client) + (1 | therapist)"``.

    Returns
    -------
    ParsedFormula

    Examples
    --------
    >>> parse_formula("y ~ x + (1 | therapist/client)").random[0].group_factors
    ('therapist', 'client')
    """
    if not isinstance(formula, str) or not formula.strip():
        raise InputError("formula must be a non-empty string such as 'y ~ x + (1 | client)'")
    text = " ".join(formula.split())
    if text.count("~") != 1:
        raise InputError(f"formula {formula!r} needs exactly one '~' between outcome and terms")
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            break
    if depth != 0:
        raise InputError(f"formula {formula!r} has unbalanced parentheses")
    lhs, rhs = (s.strip() for s in text.split("~"))
    trials = None
    if re.fullmatch(r"cbind\(.*\)", lhs):
        args = _split_top(lhs[len("cbind(") : -1], ",")
        if len(args) != 2 or not all(args):
            raise InputError(
                f"formula {formula!r}: write the outcome as cbind(successes, failures)"
            )
        trials = (args[0], args[1])
        lhs = f"cbind({args[0]}, {args[1]})"
    elif not _NAME.fullmatch(lhs):
        raise InputError(
            f"formula {formula!r}: the outcome (left of '~') must be one column name, got {lhs!r}"
        )
    if not rhs:
        raise InputError(f"formula {formula!r} has no terms right of '~'")
    terms = _split_top(rhs)
    if any(t == "" for t in terms):
        raise InputError(f"formula {formula!r} has an empty term (a doubled or trailing '+')")
    random: list[RandomTerm] = []
    fixed: list[str] = []
    for term in terms:
        m = re.fullmatch(r"\((.*?)(\|\|?)(.*)\)", term)
        if m and "|" in term:
            expr, bar, group = m.group(1).strip(), m.group(2), m.group(3).strip()
            if not expr or not group:
                raise InputError(f"random-effect term {term!r} needs '(terms | group)'")
            if "|" in group:
                raise InputError(f"random-effect term {term!r} has more than one bar")
            if not re.fullmatch(
                r"[A-Za-z_.][A-Za-z0-9_.]*(\s*[/:]\s*[A-Za-z_.][A-Za-z0-9_.]*)*", group
            ):
                raise InputError(
                    f"random-effect term {term!r}: the grouping factor must be a column name "
                    "(or 'a/b' for nesting, 'a:b' for an interaction)"
                )
            random.append(RandomTerm(expr, group, correlated=bar == "|"))
        elif "|" in term:
            raise InputError(
                f"term {term!r} has a bar outside parentheses; "
                "write random effects as '(1 | group)'"
            )
        else:
            fixed.append(term)
    if not random:
        raise InputError(
            f"formula {formula!r} has no random effect; add one such as '(1 | client)' "
            "(use statsmodels' ols/glm for models without random effects)"
        )
    fixed_text = " + ".join(fixed) if fixed else "1"
    fixed_vars = tuple(n for n in _names(fixed_text))
    rand_vars: list[str] = []
    for r in random:
        for n in _names(r.expr):
            if n not in rand_vars:
                rand_vars.append(n)
    return ParsedFormula(text, lhs, fixed_text, tuple(random), fixed_vars, tuple(rand_vars), trials)


def check_columns(parsed: ParsedFormula, columns) -> None:
    """Raise :class:`InputError` naming every formula variable missing from ``columns``.

    Examples
    --------
    >>> try:
    ...     check_columns(parse_formula("y ~ sesion + (1 | g)"), ["y", "session", "g"])
    ... except InputError as err:
    ...     print(err)
    formula variable 'sesion' is not a column of the data (did you mean 'session'?)
    """
    cols = [str(c) for c in columns]
    problems = []
    for name in parsed.variables:
        if name not in cols:
            close = difflib.get_close_matches(name, cols, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"formula variable '{name}' is not a column of the data{hint}")
    if problems:
        raise InputError("; ".join(problems))
