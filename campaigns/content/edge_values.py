"""The values a staff template is tried against before it is saved.

A template that renders for the sample learner may still fail for a real one: a loop over a
number of minutes, a name unpacked into two parts, ``|first`` on a number, a filter whose
argument is a number where it wants text. Saving renders the template once per context below;
each context says, in words staff understand, which learner it stands for.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

# The two values that are numbers in every real message; every other value is text.
NUMBERS = frozenset({"minutes_remaining", "percent_complete"})

# As long as the longest value a learner, course or module can hold (titles and modules are
# 300 characters), with spaces, so that word-based filters have words to count.
LONG_TEXT = ("Ünïcode-heavy long text " * 13)[:300]
NON_ASCII = "Zoë Ångström-Łukasiewicz 李小龍 🎓"
LONG_NUMBER = 1_000_000

_MISSING = object()

# (what staff read, the value for a text variable, the value for a number variable)
EDGES: list[tuple[str, object, object]] = [
    ("empty", "", 0),
    ("zero", "0", 0),
    ("missing", _MISSING, _MISSING),
    ("very long", LONG_TEXT, LONG_NUMBER),
    ("not plain ASCII", NON_ASCII, 0),
]


def _with(base: Mapping[str, object], names: Iterable[str], kind: int) -> dict[str, object]:
    _label, text, number = EDGES[kind]
    values = dict(base)
    for name in names:
        value = number if name in NUMBERS else text
        if value is _MISSING:
            values.pop(name, None)
        else:
            values[name] = value
    return values


def edge_contexts(
    names: Iterable[str], sample: Mapping[str, object]
) -> Iterator[tuple[str, dict[str, object]]]:
    """``(description, values)`` pairs: the sample learner, then for each edge value every used
    variable at it on its own, then all of them at once (a learner with no data at all)."""
    used = sorted(set(names))
    yield "the sample learner", dict(sample)
    for kind, (label, _text, _number) in enumerate(EDGES):
        for name in used:
            yield f"a learner whose {name} is {label}", _with(sample, [name], kind)
        if len(used) > 1:
            yield f"a learner whose values are all {label}", _with(sample, used, kind)
