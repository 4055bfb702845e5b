"""Answer comparison for nested attributes (objects) and classifications, scored as a tree.

radio: exact option; checklist: Jaccard of the chosen options; text: 1 - Levenshtein / max length after
normalising case and whitespace; numeric: |difference| <= tolerance. A nested attribute is compared only where
both sides chose the option it hangs under: a wrong parent is one error, not one per descendant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from benchmark_qa.scoring.config import AttributeRule
from benchmark_qa.scoring.labels import Answer
from benchmark_qa.scoring.ontology import AttributeNode


@dataclass(slots=True, frozen=True)
class AnswerOutcome:
    path: str
    node: AttributeNode
    similarity: float
    correct: bool
    truth: Answer | None
    labels: Answer | None


def normalise_text(text: str) -> str:
    return " ".join(text.casefold().split())


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def text_similarity(a: str, b: str) -> float:
    a, b = normalise_text(a), normalise_text(b)
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - levenshtein(a, b) / longest


def answer_similarity(
    node: AttributeNode, truth: Answer | None, labels: Answer | None, rule: AttributeRule
) -> tuple[float, bool]:
    if truth is None or labels is None:
        return 0.0, False
    if node.kind == "radio":
        ok = truth == labels
        return float(ok), ok
    if node.kind == "checklist":
        t = truth if isinstance(truth, frozenset) else frozenset()
        a = labels if isinstance(labels, frozenset) else frozenset()
        union = t | a
        sim = 1.0 if not union else len(t & a) / len(union)
        return sim, sim >= (rule.checklist_jaccard if rule.checklist_jaccard is not None else 1.0) - 1e-12
    if node.kind == "numeric":
        diff = abs(float(truth) - float(labels))  # type: ignore[arg-type]
        ok = diff <= (rule.numeric_tolerance or 0.0) + 1e-12
        return float(ok), ok
    sim = text_similarity(str(truth), str(labels))
    return sim, sim >= (rule.text_similarity if rule.text_similarity is not None else 0.9) - 1e-12


def compare_tree(
    nodes: tuple[AttributeNode, ...],
    truth: Mapping[str, Answer],
    labels: Mapping[str, Answer],
    rule_for: Callable[[AttributeNode], AttributeRule],
    include_dynamic: bool = False,
) -> Iterator[AnswerOutcome]:
    for node in nodes:
        if node.dynamic and not include_dynamic:
            continue
        t, a = truth.get(node.hash), labels.get(node.hash)
        if t is None and a is None:
            continue
        sim, ok = answer_similarity(node, t, a, rule_for(node))
        yield AnswerOutcome(node.path, node, sim, ok, t, a)
        if node.kind == "radio" and t is not None and t == a:
            for option in node.options:
                if option.hash == t:
                    yield from compare_tree(option.attributes, truth, labels, rule_for, include_dynamic)


def describe(node: AttributeNode, value: Answer | None) -> str | None:
    """Human-readable answer (option labels rather than hashes), for reviewer-facing conflict values."""
    if value is None:
        return None
    if isinstance(value, frozenset):
        return ", ".join(sorted(node.option_label(v) for v in value))
    if node.kind == "radio":
        return node.option_label(str(value))
    return str(value)
