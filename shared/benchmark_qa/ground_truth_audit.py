"""Auditing the ground truth itself: where most annotators agree with each other but not with the truth, the
truth is the likelier mistake (docs/annotator-quality.md).

For every truth object (and every object the annotators agree on that has no truth object), from the task's
`Consensus`: how many annotators agree with the truth, how many agree with each other against it, and how well.
A *suspect ground truth* flag needs a quorum: at least `min_annotators` annotators, and at least `min_share` of
the task's annotators, on the same side against the truth. Kinds:

| kind | the quorum ... |
|---|---|
| `unconfirmed_object` | drew nothing that matches a truth object (a spurious or misplaced truth object) |
| `missing_object` | drew one object, mutually matched, where the truth has none |
| `class_disputed` | matched the truth object but gave it one other class |
| `outline_disputed` | matched it and agree closely with each other (median similarity >= |
|   | `outline_agreement`), at least `outline_margin` better than their median similarity with the truth |
| `answer_disputed` | gave one other answer to an attribute of the truth object, or to a classification |

On video a per-frame finding becomes a flag when it holds on at least `min_frame_share` of the truth object's
frames. A flag's id is a hash of the data unit, the kind and what it is about, so re-scoring finds the same id.

`exclusions(flags)` and `without(row, ...)` leave flagged objects out of a label row: the truth object and the
annotators' marks of the same object, or, for a classification, that classification in every row.
"""

from __future__ import annotations

import copy
import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field

from benchmark_qa.annotator_consensus import AnswerSet, Consensus, ConsensusObject, Mark
from benchmark_qa.scoring.labels import Answer
from benchmark_qa.scoring.ontology import AttributeNode

FlagKind = Literal["unconfirmed_object", "missing_object", "class_disputed", "outline_disputed", "answer_disputed"]


class AuditSettings(BaseModel):
    """Thresholds of the audit (GROUND_TRUTH_AUDIT, docs/annotator-quality.md)."""

    min_annotators: int = Field(3, ge=2, description="annotators needed against the truth")
    min_share: float = Field(0.6, gt=0.5, le=1.0, description="... and this share of the task's annotators")
    outline_agreement: float = Field(0.8, ge=0.0, le=1.0)
    outline_margin: float = Field(0.2, ge=0.0, le=1.0)
    min_frame_share: float = Field(0.5, gt=0.0, le=1.0)

    def quorum(self, annotators: int) -> int:
        return max(self.min_annotators, math.ceil(self.min_share * annotators - 1e-9))


class Flag(BaseModel):
    """One suspect piece of ground truth, with the evidence."""

    flag_id: str
    kind: FlagKind
    data_hash: str
    data_unit: str
    frame_first: int
    frame_last: int
    frames: int
    truth_object: str | None = Field(None, description="objectHash of the truth object, if any")
    truth_class: str | None = None
    path: str | None = Field(None, description="attribute or classification path")
    classification_hash: str | None = Field(None, description="featureHash of the disputed classification node")
    truth_value: str | None = None
    consensus_value: str | None = None
    annotators: int = Field(description="annotators on the task")
    against_truth: list[str] = Field(description="annotators who agree with each other against the truth")
    with_truth: list[str] = Field(description="annotators who agree with the truth")
    agreement_with_truth: float | None = Field(None, description="median similarity of the quorum with the truth")
    agreement_with_each_other: float | None = Field(None, description="median similarity within the quorum")
    annotator_objects: dict[str, list[str]] = Field(
        default_factory=dict, description="annotator -> their objectHashes of this object (left out with it)"
    )
    message: str


@dataclass
class _Finding:
    kind: FlagKind
    key: str
    du: str
    frames: list[int]
    sample: dict[str, Any]
    annotator_objects: dict[str, set[str]] = field(default_factory=dict)


def _label(node: AttributeNode | None, answer: Answer | None) -> str | None:
    if answer is None:
        return None
    if isinstance(answer, frozenset):
        return "{" + ", ".join(sorted(node.option_label(a) if node else str(a) for a in answer)) + "}"
    if isinstance(answer, str) and node is not None:
        return node.option_label(answer)
    return str(answer)


def _median(values: Iterable[float]) -> float | None:
    """statistics.median's arithmetic (the middle value, or the mean of the two middle ones) without its
    overhead: the audit takes two medians per object."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return None
    return float(ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2)


def audit(consensus: Consensus, data_hash: str, settings: AuditSettings | None = None) -> list[Flag]:
    """Suspect-ground-truth flags of one task; [] without truth or with too few annotators for a quorum."""
    settings = settings or AuditSettings()
    k = len(consensus.annotators)
    q = settings.quorum(k)
    if not consensus.has_truth or k < q:
        return []
    findings: dict[tuple[str, str], _Finding] = {}

    def note(
        kind: FlagKind, key: str, du: str, frame: int, sample: dict[str, Any], objects: Mapping[str, Mark]
    ) -> None:
        found = findings.setdefault((kind, key), _Finding(kind, key, du, [], sample))
        found.frames.append(frame)
        for a, m in objects.items():
            found.annotator_objects.setdefault(a, set()).add(m.object_hash)

    annotators = set(consensus.annotators)
    for mark in consensus.unlinked_truth:
        note("unconfirmed_object", mark.object_hash, mark.du, mark.frame, _unconfirmed(mark, annotators, {}), {})
    for obj in consensus.objects:
        _audit_object(obj, annotators, q, settings, note)
    for entry in consensus.answers:
        _audit_answers(entry, q, note)
    kept = [f for f in findings.values() if _enough_frames(f, consensus, settings)]
    return [_flag(f, data_hash, k) for f in kept]


def _unconfirmed(mark: Mark, annotators: set[str], matched: Mapping[str, float]) -> dict[str, Any]:
    return {
        "truth_object": mark.object_hash,
        "truth_class": mark.cls,
        "against": sorted(annotators - set(matched)),
        "with": sorted(matched),
        "with_truth": _median(matched.values()),
        "each_other": None,
    }


def _audit_object(obj: ConsensusObject, annotators: set[str], q: int, settings: AuditSettings, note: Any) -> None:
    du, frame, _ = obj.place
    if obj.truth is None:
        if len(obj.marks) >= q:
            members = sorted(obj.marks)
            sample = {
                "truth_object": None,
                "truth_class": None,
                "consensus_value": obj.majority_class,
                "against": members,
                "with": [],
                "with_truth": None,
                "each_other": _median(obj.similarity.values()),
            }
            note(
                "missing_object",
                ",".join(sorted(m.object_hash for m in obj.marks.values())),
                du,
                frame,
                sample,
                obj.marks,
            )
        return
    truth = obj.truth
    matched = obj.truth_similarity
    if len(annotators) - len(matched) >= q:
        note("unconfirmed_object", truth.object_hash, du, frame, _unconfirmed(truth, annotators, matched), {})
        return
    other: list[str] = []
    if any(obj.marks[a].cls != truth.cls for a in matched):  # else no other class to count
        classes = Counter(obj.marks[a].cls for a in matched)
        other = [c for c, n in classes.most_common() if c != truth.cls and n >= q]
    if other:
        against = sorted(a for a in matched if obj.marks[a].cls == other[0])
        sample = {
            "truth_object": truth.object_hash,
            "truth_class": truth.cls,
            "truth_value": truth.cls,
            "consensus_value": other[0],
            "against": against,
            "with": sorted(a for a in matched if obj.marks[a].cls == truth.cls),
            "with_truth": _median(matched[a] for a in against),
            "each_other": _median(obj.pair_similarity(a, b) for i, a in enumerate(against) for b in against[i + 1 :]),
        }
        note("class_disputed", truth.object_hash, du, frame, sample, {a: obj.marks[a] for a in against})
        return
    group = sorted(matched)
    if len(group) >= q:
        each_other = _median(obj.pair_similarity(a, b) for i, a in enumerate(group) for b in group[i + 1 :])
        with_truth = _median(matched.values())
        if (
            each_other is not None
            and with_truth is not None
            and each_other >= settings.outline_agreement
            and each_other - with_truth >= settings.outline_margin
        ):
            sample = {
                "truth_object": truth.object_hash,
                "truth_class": truth.cls,
                "against": group,
                "with": [],
                "with_truth": with_truth,
                "each_other": each_other,
            }
            note("outline_disputed", truth.object_hash, du, frame, sample, {a: obj.marks[a] for a in group})


def _audit_answers(entry: AnswerSet, q: int, note: Any) -> None:
    if entry.scope == "object" and (entry.obj is None or entry.obj.truth is None or not entry.truth_present):
        return  # an object without truth is a missing_object finding already
    counts = Counter(_label(entry.node, v) for v in entry.answers.values())
    truth_label = _label(entry.node, entry.truth)
    other = [v for v, n in counts.most_common() if v != truth_label and n >= q]
    if not other:
        return
    against = sorted(a for a, v in entry.answers.items() if _label(entry.node, v) == other[0])
    truth = entry.obj.truth if entry.obj is not None else None
    sample = {
        "truth_object": truth.object_hash if truth else None,
        "truth_class": truth.cls if truth else None,
        "path": entry.path,
        "classification_hash": entry.node.hash if entry.scope == "classification" else None,
        "truth_value": truth_label,
        "consensus_value": other[0],
        "against": against,
        "with": sorted(a for a, v in entry.answers.items() if _label(entry.node, v) == truth_label),
        "with_truth": None,
        "each_other": None,
    }
    key = f"{truth.object_hash if truth else ''}/{entry.path}"
    marks = {a: entry.obj.marks[a] for a in against if a in entry.obj.marks} if entry.obj is not None else {}
    note("answer_disputed", key, entry.du, entry.frame, sample, marks)


def _enough_frames(finding: _Finding, consensus: Consensus, settings: AuditSettings) -> bool:
    truth_object = finding.sample.get("truth_object")
    if truth_object is None:
        return True
    total = consensus.truth_frames.get(truth_object, len(finding.frames))
    return len(set(finding.frames)) >= settings.min_frame_share * total


_WHAT = {
    "unconfirmed_object": "drew nothing matching the truth's {truth_class}",
    "missing_object": "drew a {consensus_value} the truth does not have",
    "class_disputed": "call the truth's {truth_class} a {consensus_value}",
    "outline_disputed": "agree on the {truth_class}'s outline (median similarity {each_other:.2f}) but not with the "
    "truth's (median {with_truth:.2f})",
    "answer_disputed": "answer {path} with {consensus_value!r} where the truth says {truth_value!r}",
}


def _flag(finding: _Finding, data_hash: str, k: int) -> Flag:
    s = finding.sample
    frames = sorted(set(finding.frames))
    digest = hashlib.sha256(f"{data_hash}|{finding.du}|{finding.kind}|{finding.key}".encode()).hexdigest()[:16]
    where = f"frame {frames[0]}" if len(frames) == 1 else f"frames {frames[0]}-{frames[-1]} ({len(frames)})"
    what = _WHAT[finding.kind].format(
        **{**s, "each_other": s.get("each_other") or 0.0, "with_truth": s.get("with_truth") or 0.0}
    )
    message = (
        f"suspect ground truth in data unit {finding.du}, {where}: {len(s['against'])} of {k} annotators {what}"
        + (f" (truth object {s['truth_object']})" if s.get("truth_object") else "")
    )
    return Flag(
        flag_id=digest,
        kind=finding.kind,
        data_hash=data_hash,
        data_unit=finding.du,
        frame_first=frames[0],
        frame_last=frames[-1],
        frames=len(frames),
        truth_object=s.get("truth_object"),
        truth_class=s.get("truth_class"),
        path=s.get("path"),
        classification_hash=s.get("classification_hash"),
        truth_value=s.get("truth_value"),
        consensus_value=s.get("consensus_value"),
        annotators=k,
        against_truth=s["against"],
        with_truth=s["with"],
        agreement_with_truth=s.get("with_truth"),
        agreement_with_each_other=s.get("each_other"),
        annotator_objects={a: sorted(h) for a, h in sorted(finding.annotator_objects.items())},
        message=message,
    )


# ---------------------------------------------------------------------------------------------- exclusion
@dataclass(frozen=True)
class Exclusions:
    """What to leave out of the rows while flags are under review."""

    truth_objects: frozenset[str] = frozenset()
    annotator_objects: Mapping[str, frozenset[str]] = field(default_factory=dict)
    classifications: frozenset[str] = frozenset()  # classification attribute featureHashes

    def __bool__(self) -> bool:
        return bool(self.truth_objects or self.classifications or any(self.annotator_objects.values()))


def exclusions(flags: Iterable[Flag]) -> Exclusions:
    truth: set[str] = set()
    annotators: dict[str, set[str]] = {}
    classifications: set[str] = set()
    for flag in flags:
        if flag.classification_hash:
            classifications.add(flag.classification_hash)
            continue
        if flag.truth_object:
            truth.add(flag.truth_object)
        for a, hashes in flag.annotator_objects.items():
            annotators.setdefault(a, set()).update(hashes)
    return Exclusions(frozenset(truth), {a: frozenset(h) for a, h in annotators.items()}, frozenset(classifications))


def without(
    row: Mapping[str, Any] | bytes, objects: frozenset[str], classifications: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A copy of a label row (a dict, or its JSON) without the objects `objects` (objectHash) and without every
    classification instance that answers one of `classifications` (attribute featureHash)."""
    out = orjson.loads(row) if isinstance(row, bytes) else copy.deepcopy(dict(row))
    if not objects and not classifications:
        return out

    def keep_classification(entry: Mapping[str, Any]) -> bool:
        answers = entry.get("classifications") or []
        return not any(a.get("featureHash") in classifications for a in answers if isinstance(a, Mapping))

    for unit in (out.get("data_units") or {}).values():
        labels = unit.get("labels") or {}
        frames = [labels] if "objects" in labels or "classifications" in labels else list(labels.values())
        for frame in frames:
            if not isinstance(frame, dict):
                continue
            frame["objects"] = [o for o in frame.get("objects") or [] if o.get("objectHash") not in objects]
            frame["classifications"] = [
                c
                for c in frame.get("classifications") or []
                if not (out.get("classification_answers") or {}).get(c.get("classificationHash"))
                or keep_classification(out["classification_answers"][c["classificationHash"]])
            ]
    out["object_answers"] = {k: v for k, v in (out.get("object_answers") or {}).items() if k not in objects}
    out["object_actions"] = {k: v for k, v in (out.get("object_actions") or {}).items() if k not in objects}
    out["classification_answers"] = {
        k: v for k, v in (out.get("classification_answers") or {}).items() if keep_classification(v)
    }
    return out
