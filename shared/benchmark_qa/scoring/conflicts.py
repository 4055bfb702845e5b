"""Typed conflicts for reviewers, merged into frame runs, each with an annotator hint that never reveals the
ground truth (no truth values, positions or hashes; class pairs are named in alphabetical order)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from benchmark_qa.scoring.comparison import Columns, Comparison
from benchmark_qa.scoring.config import Resolved
from benchmark_qa.scoring.conflict import SEVERITY, Conflict
from benchmark_qa.scoring.labels import LabelSet
from benchmark_qa.scoring.matching import assign
from benchmark_qa.scoring.ontology import Ontology
from benchmark_qa.scoring.ordering import common_ints, contains, lexsort_ints


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def hint_for(  # noqa: PLR0911
    kind: str, subject: str, other: str | None, frames: int, path: str | None
) -> str:
    on = f" on {_plural(frames, 'frame')}" if frames > 1 else ""
    if kind == "missing":
        return f"a {subject} was not labelled{on}"
    if kind == "extra":
        return f"this {subject} has no counterpart in the benchmark{on}"
    if kind == "wrong_class":
        a, b = sorted([subject, other or "?"])
        return f"confused {a} and {b}{on}"
    if kind == "low_overlap":
        return f"{subject} outline is loose{on}; follow the object's edges"
    if kind == "attribute_mismatch":
        return f"re-check '{path}'{on}"
    if kind == "direction":
        return f"{subject} is drawn in the reverse direction"
    if kind == "visibility":
        return f"re-check the visibility flag of '{path}' on {subject}{on}"
    return f"object identity changed mid-track ({subject}); keep one object per physical object across frames"


def build_conflicts(
    ontology: Ontology,
    truth: LabelSet,
    labels: LabelSet,
    comp: Comparison,
    rules: list[Resolved],
    limit: int,
    id_switches: Sequence[tuple[int, int, int, int, int]] = (),
) -> tuple[list[Conflict], dict[str, int]]:
    """Returns (conflicts sorted by severity then position, capped at `limit`; totals per kind before the cap).
    `id_switches`: (data unit, frame, truth object, previous and new annotator object) from the tracking metrics,
    so the conflicts and the report's ID switch count agree."""
    names = [o.name for o in ontology.objects]
    tobj, aobj = truth.objects, labels.objects
    units = truth.units
    rows: list[tuple[str, int, int, int, int, int, float, int]] = []  # kind, du, frame, t, a, n, mean sim, last

    def unit(du: int) -> str:
        return units[du].hash if du < len(units) else str(du)

    m = comp.matches
    t_cls = np.array([o.class_index for o in tobj] or [0])
    a_cls = np.array([o.class_index for o in aobj] or [0])
    low_thr = np.array([r.low_overlap for r in rules] or [0.0])
    records: list[Record] = []
    if len(m.t_obj):
        tc, ac = t_cls[m.t_obj], a_cls[m.a_obj]
        wrong = tc != ac
        low = ~wrong & (m.sim < low_thr[tc])
        for kind, sel in (("wrong_class", wrong), ("low_overlap", low)):
            records.append((kind, m.du[sel], m.frame[sel], m.t_obj[sel], m.a_obj[sel], m.sim[sel]))
    records += _unmatched(comp, t_cls, a_cls)
    for kind, du_raw, frame_raw, t_raw, a_raw, sim_raw in records:
        if len(du_raw) == 0:
            continue
        order = lexsort_ints((frame_raw, a_raw, t_raw, du_raw))
        du, frame, t, a, sim = du_raw[order], frame_raw[order], t_raw[order], a_raw[order], sim_raw[order]
        brk = np.concatenate(
            [[True], (du[1:] != du[:-1]) | (t[1:] != t[:-1]) | (a[1:] != a[:-1]) | (frame[1:] != frame[:-1] + 1)]
        )
        starts = np.nonzero(brk)[0]
        ends = np.concatenate([starts[1:], [len(du)]])
        sums = np.add.reduceat(sim, starts)
        # each run's first and last values as lists at once, not two numpy scalars per value (thousands of runs)
        runs = zip(
            du[starts].tolist(),
            frame[starts].tolist(),
            t[starts].tolist(),
            a[starts].tolist(),
            (ends - starts).tolist(),
            sums.tolist(),
            frame[ends - 1].tolist(),
            strict=True,
        )
        for du_s, first_s, t_s, a_s, n_s, total, last_s in runs:
            rows.append((kind, du_s, first_s, t_s, a_s, n_s, total / n_s, last_s))
    out: list[Conflict] = []
    totals: dict[str, int] = defaultdict(int)
    for kind, du_i, first, t_i, a_i, n, mean_sim, last in rows:
        tname = names[tobj[t_i].class_index] if t_i >= 0 else None
        aname = names[aobj[a_i].class_index] if a_i >= 0 else None
        subject = (aname if kind == "extra" else tname) or "object"
        totals[kind] += n
        # A loose box below the match threshold costs a miss and an extra in the metrics: an error, not a warning.
        below_match = kind == "low_overlap" and t_i >= 0 and mean_sim < rules[tobj[t_i].class_index].match
        out.append(
            Conflict(
                kind=kind,
                severity="error" if below_match else SEVERITY[kind],
                data_unit=unit(du_i),
                frame=first,
                frame_last=last,
                frames=n,
                truth_hash=tobj[t_i].hash if t_i >= 0 else None,
                labels_hash=aobj[a_i].hash if a_i >= 0 else None,
                truth_value=tname,
                labels_value=aname,
                similarity=None if kind in ("missing", "extra") else round(mean_sim, 6),
                hint=hint_for(kind, subject if kind != "wrong_class" else (tname or "?"), aname, n, None),
            )
        )
    for note in _merge_notes(comp):
        kind, du_n, first, last_n, t_n, a_n, n, value, detail = note
        tname = names[tobj[t_n].class_index]
        totals[kind] += n
        out.append(
            Conflict(
                kind=kind,
                severity=SEVERITY[kind],
                data_unit=unit(du_n),
                frame=first,
                frame_last=last_n,
                frames=n,
                truth_hash=tobj[t_n].hash,
                labels_hash=aobj[a_n].hash,
                truth_value=None,
                labels_value=detail or None,
                path=f"{tname}/{detail}" if detail else None,
                similarity=round(value, 6) if kind == "direction" else None,
                hint=hint_for(kind, tname, None, n, detail),
            )
        )
    for r in comp.answers:
        if r.correct:
            continue
        totals["attribute_mismatch"] += r.frames
        out.append(
            Conflict(
                kind="attribute_mismatch",
                severity="warning",
                data_unit=unit(r.du) if r.scope == "object" else truth.data_hash,
                frame=r.first,
                frame_last=r.last,
                frames=r.frames,
                truth_hash=r.truth_hash or None,
                labels_hash=r.labels_hash or None,
                truth_value=r.truth,
                labels_value=r.labels,
                path=r.path,
                similarity=round(r.similarity, 6),
                hint=hint_for("attribute_mismatch", r.owner, None, r.frames, r.path),
            )
        )
    for gap in comp.gaps:
        totals[gap.kind] += gap.frames
        text = (
            f"the '{gap.owner}' classification was not answered"
            if gap.kind == "missing"
            else f"the '{gap.owner}' classification was answered where the benchmark has none"
        )
        out.append(
            Conflict(
                kind=gap.kind,
                severity="error",
                data_unit=truth.data_hash,
                frame=gap.first,
                frame_last=gap.last,
                frames=gap.frames,
                truth_hash=gap.hash if gap.kind == "missing" else None,
                labels_hash=gap.hash if gap.kind == "extra" else None,
                truth_value=gap.owner if gap.kind == "missing" else None,
                labels_value=gap.owner if gap.kind == "extra" else None,
                path=gap.path,
                hint=text + (f" on {_plural(gap.frames, 'frame')}" if gap.frames > 1 else ""),
            )
        )
    for s_du, s_frame, s_t, before, after in id_switches:
        totals["id_switch"] += 1
        tname = names[tobj[s_t].class_index]
        out.append(
            Conflict(
                kind="id_switch",
                severity="error",
                data_unit=unit(s_du),
                frame=s_frame,
                frame_last=s_frame,
                frames=1,
                truth_hash=tobj[s_t].hash,
                labels_hash=aobj[after].hash,
                truth_value=None,
                labels_value=aobj[before].hash,  # the annotator track it was following before
                hint=hint_for("id_switch", tname, None, 1, None),
            )
        )
    out.sort(
        key=lambda c: (c.severity != "error", c.data_unit, c.frame, c.kind, c.truth_hash or "", c.labels_hash or "")
    )
    return out[:limit], dict(totals)


Record = tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # kind, du, frame, t, a, sim


def _unmatched(comp: Comparison, t_cls: np.ndarray, a_cls: np.ndarray) -> list[Record]:
    """Misses and extras, except where a truth object and an annotator object of the same class overlap on a
    frame but both stayed unmatched because the overlap is below the match threshold: that is one loose
    outline, reported as `low_overlap`, not a `missing` plus an `extra` the annotator never drew. The loose pairs
    of a frame are chosen as the matcher chooses matches (`matching.assign`: most pairs, then the largest total
    overlap; on video last frame's loose pairs are kept first), so overlaps equal up to float rounding never
    decide the answer. The metrics are unchanged: the pair still counts as a miss and an extra."""
    missed, extra, cand = comp.missed, comp.extra, comp.candidates
    keep_missed = np.ones(len(missed.du), dtype=bool)
    keep_extra = np.ones(len(extra.du), dtype=bool)
    loose: list[tuple[int, int, int, int, float]] = []
    if len(cand.du) and len(missed.du) and len(extra.du):
        # the frames with a miss and an extra are few: candidates are looked up there once, then tested by class
        both = common_ints(_frame_key(missed), _frame_key(extra))
        rows = np.flatnonzero(contains(both, _frame_key(cand)))
        rows = rows[t_cls[np.maximum(cand.t_obj[rows], 0)] == a_cls[np.maximum(cand.a_obj[rows], 0)]]
        free_t, free_a = _positions(missed, missed.t_obj), _positions(extra, extra.a_obj)
        keys_t, keys_a = _keys(cand, cand.t_obj, rows), _keys(cand, cand.a_obj, rows)
        rows = rows[[kt in free_t and ka in free_a for kt, ka in zip(keys_t, keys_a, strict=True)]]
        rows = rows[lexsort_ints((cand.frame[rows], cand.du[rows], cand.family[rows]))]
        group = np.stack([cand.family[rows], cand.du[rows], cand.frame[rows]], axis=1)
        first = np.ones(len(rows), dtype=bool)  # first row of each frame
        first[1:] = (group[1:] != group[:-1]).any(axis=1)
        cuts = np.append(np.nonzero(first)[0], len(rows))
        before: tuple[int, int, int, set[tuple[int, int]]] = (-1, -1, -1, set())  # last frame's loose pairs
        for lo, hi in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
            fam, du, frame = (int(v) for v in group[lo])
            t_all, a_all = cand.t_obj[rows[lo:hi]], cand.a_obj[rows[lo:hi]]
            ts, ti = np.unique(t_all, return_inverse=True)
            as_, ai = np.unique(a_all, return_inverse=True)
            sim = np.zeros((len(ts), len(as_)))
            sim[ti, ai] = cand.sim[rows[lo:hi]]
            keep = None
            if before[:3] == (fam, du, frame - 1) and before[3]:
                keep = np.array([[(t, a) in before[3] for a in as_.tolist()] for t in ts.tolist()])
            r, c = assign(sim, sim > 0, np.ones_like(sim, dtype=bool), "class_agnostic", keep)
            pairs = set()
            for t, a, s in zip(ts[r].tolist(), as_[c].tolist(), sim[r, c].tolist(), strict=True):
                keep_missed[free_t[(fam, du, frame, t)]] = keep_extra[free_a[(fam, du, frame, a)]] = False
                loose.append((du, frame, t, a, s))
                pairs.add((t, a))
            before = (fam, du, frame, pairs)
    cols = np.array(loose, dtype=np.float64).reshape(-1, 5)
    ints = cols[:, :4].astype(np.int64)
    return [
        ("low_overlap", ints[:, 0], ints[:, 1], ints[:, 2], ints[:, 3], cols[:, 4]),
        *(
            (kind, c.du[keep], c.frame[keep], c.t_obj[keep], c.a_obj[keep], c.sim[keep])
            for kind, c, keep in (("missing", missed, keep_missed), ("extra", extra, keep_extra))
        ),
    ]


def _frame_key(c: Columns) -> np.ndarray:
    key: np.ndarray = np.left_shift(c.du, 32, dtype=np.int64)
    key |= c.frame
    return key


def _keys(c: Columns, obj: np.ndarray, rows: np.ndarray | None = None) -> list[tuple[int, int, int, int]]:
    """(family, data unit, frame, object) of each row."""
    sel = slice(None) if rows is None else rows
    return list(zip(c.family[sel].tolist(), c.du[sel].tolist(), c.frame[sel].tolist(), obj[sel].tolist(), strict=True))


def _positions(c: Columns, obj: np.ndarray) -> dict[tuple[int, int, int, int], int]:
    return {key: i for i, key in enumerate(_keys(c, obj))}


def _merge_notes(comp: Comparison) -> list[tuple[str, int, int, int, int, int, int, float, str]]:
    groups: dict[tuple[str, int, int, int, str], list[tuple[int, float]]] = defaultdict(list)
    for n in comp.notes:
        groups[(n.kind, n.du, n.t_obj, n.a_obj, n.detail)].append((n.frame, n.value))
    out = []
    for (kind, du, t, a, detail), items in sorted(groups.items()):
        items.sort()
        start = 0
        for i in range(1, len(items) + 1):
            if i == len(items) or items[i][0] != items[i - 1][0] + 1:
                run = items[start:i]
                value = sum(v for _, v in run) / len(run)
                out.append((kind, du, run[0][0], run[-1][0], t, a, len(run), value, detail))
                start = i
    return out


def aggregate_hints(conflicts: list[Conflict], limit: int = 5) -> list[str]:
    """Short hints for the annotator, most frequent first: patterns, never truth values or locations."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for c in conflicts:
        if c.kind == "wrong_class":
            subject = " and ".join(sorted([c.truth_value or "?", c.labels_value or "?"]))
        elif c.kind in ("attribute_mismatch", "visibility"):
            subject = c.path or "?"
        elif c.kind == "extra":
            subject = c.labels_value or "?"
        elif c.kind == "id_switch":
            subject = "tracks"
        else:
            subject = c.truth_value or c.labels_value or "?"
        counts[(c.kind, subject)] += c.frames
    phrases = {
        "wrong_class": "confused {s} on {n}",
        "missing": "missed {s} on {n}",
        "extra": "added {s} with no counterpart on {n}",
        "low_overlap": "{s} outlines are loose on {n}",
        "attribute_mismatch": "re-check '{s}' ({n})",
        "direction": "{s} drawn in the reverse direction on {n}",
        "visibility": "re-check the visibility of '{s}' ({n})",
        "id_switch": "object identity changed mid-track {n}",
    }
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    out = []
    for (kind, subject), n in ranked[:limit]:
        unit = _plural(n, "time") if kind == "id_switch" else _plural(n, "frame")
        out.append(phrases[kind].format(s=subject, n=unit))
    return out


__all__ = ["Conflict", "aggregate_hints", "build_conflicts", "hint_for"]
