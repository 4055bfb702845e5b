"""Workflow actions in bundles, shared by routing (proceed along a pathway) and consensus scoring (move or
reject): what a stage looks like to us, how a batch is cut, and what happens when Encord refuses one.

Encord refuses a whole bundle (400) when any task in it is no longer in the stage: someone moved it, or our own
retried request had been applied before its answer was lost. Then:

  1. one filtered listing asks which of the batch are still in the stage (`still_in_stage`); the others have
     left, which is what we wanted (with `arrived`, those found at the action's own destination were moved by
     our earlier attempt whose answer was lost: DONE, not LEFT_STAGE);
  2. the rest is sent again as one batch;
  3. only if that is refused too (the stage changed again under us) is each task acted on alone, and a task
     refused alone has left the stage.

So a lost answer costs one listing and one request, not one request per task. Any other failure of a batch
stops the remaining batches: their tasks stay in the stage for the next run. When the invocation runs out of
time (budget.OutOfTime), the batch and those after it are DEFERRED: not an error, the next run acts on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from benchmark_qa.encord.budget import OutOfTime
from benchmark_qa.observability import logger

MAX_HASHES_PER_CALL = 100  # data hashes travel in the query string / payload of one listing
ACTION_BATCH_LIMIT = 1000  # the SDK's bundle limit for workflow actions
MOVE_BATCH_LIMIT = 500  # the SDK's bundle limit for move-tasks

T = TypeVar("T")


class ActionOutcome(StrEnum):
    DONE = "done"
    LEFT_STAGE = "left_stage"  # someone (or our own retried request) had already moved it
    FAILED = "failed"
    DEFERRED = "deferred"  # not attempted: the invocation ran out of time; the next run acts on it


@dataclass(frozen=True)
class Applied(Generic[T]):
    item: T
    outcome: ActionOutcome
    error: str | None = None


@dataclass(frozen=True)
class StageView:
    """What we need of a workflow stage (built from the SDK's stage objects)."""

    title: str
    uuid: str
    kind: str  # the SDK's WorkflowStageType value, e.g. AGENT, CONSENSUS_REVIEW, DONE
    pathways: dict[str, str] = field(default_factory=dict)  # agent stages: pathway name -> uuid


def stage_views(stages: Iterable[Any]) -> list[StageView]:
    """The SDK's workflow stages (`project.workflow.stages`) as StageViews; agent stages with their pathways."""
    from encord.workflow.stages.agent import AgentStage

    return [
        StageView(
            title=s.title,
            uuid=str(s.uuid),
            kind=str(getattr(getattr(s, "stage_type", None), "value", type(s).__name__)).upper(),
            pathways={p.name: str(p.uuid) for p in s.pathways} if isinstance(s, AgentStage) else {},
        )
        for s in stages
    ]


def find_stage(stages: Sequence[StageView], wanted: str, kind: str) -> StageView | None:
    """The stage `wanted` names (its uuid, or its title), preferring the title match of `kind`.

    Titles are not unique: Encord gives both stages of a consensus block the block's name ("Consensus 1" is a
    CONSENSUS_ANNOTATION and a CONSENSUS_REVIEW stage, in either order). So a title picks the stage of the kind
    the caller needs; only when no stage of that kind has the title is another title match returned (the caller
    then says what kind it is). Two stages of `kind` with the title are ambiguous: use the uuid."""
    by_uuid = next((s for s in stages if s.uuid == wanted), None)
    if by_uuid is not None:
        return by_uuid
    titled = [s for s in stages if s.title == wanted]
    of_kind = [s for s in titled if s.kind == kind]
    if len(of_kind) > 1:
        raise AmbiguousStage(
            f"{len(of_kind)} {kind} stages are titled {wanted!r} (uuids {[s.uuid for s in of_kind]}); "
            "name the stage by its uuid instead"
        )
    return of_kind[0] if of_kind else next(iter(titled), None)


class AmbiguousStage(ValueError):
    """Several stages of the wanted kind share the title asked for."""


def batched(items: Sequence[T], size: int) -> list[list[T]]:
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def is_refusal(error: Exception) -> bool:
    """The SDK's error for a 400 on a workflow action: some task is not in the stage."""
    from encord.exceptions import InvalidArgumentsError

    return isinstance(error, InvalidArgumentsError)


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def apply_in_batches(
    items: Sequence[T],
    *,
    batch_size: int,
    act_batch: Callable[[Sequence[T]], None],
    act_one: Callable[[T], None],
    still_in_stage: Callable[[Sequence[T]], Sequence[T]],
    is_refused: Callable[[Exception], bool] = is_refusal,
    arrived: Callable[[Sequence[T]], Sequence[T]] | None = None,
) -> tuple[list[Applied[T]], int]:
    """Act on `items` a batch at a time (see the module doc for refusals). Returns every item's outcome and the
    number of action requests made (listings are not counted)."""
    results: list[Applied[T]] = []
    requests = 0
    batches = batched(items, batch_size)
    for index, batch in enumerate(batches):
        requests += 1
        try:
            act_batch(batch)
        except OutOfTime as error:
            rest = [item for later in batches[index:] for item in later]
            return results + [Applied(item, ActionOutcome.DEFERRED, str(error)) for item in rest], requests
        except Exception as error:
            if not is_refused(error):
                message = f"batch of {len(batch)} failed: {_describe(error)}"
                results += _after_failure(batch, message, still_in_stage, arrived)
                rest = [item for later in batches[index + 1 :] for item in later]
                results += [
                    Applied(item, ActionOutcome.FAILED, "not attempted: an earlier batch failed") for item in rest
                ]
                return results, requests
            outcomes, made = _after_refusal(batch, act_batch, act_one, still_in_stage, is_refused, arrived)
            results += outcomes
            requests += made
            deferred = next((r.error for r in outcomes if r.outcome is ActionOutcome.DEFERRED), None)
            if deferred is not None:
                rest = [item for later in batches[index + 1 :] for item in later]
                return results + [Applied(item, ActionOutcome.DEFERRED, deferred) for item in rest], requests
        else:
            results += [Applied(item, ActionOutcome.DONE) for item in batch]
    return results, requests


def _after_refusal(
    batch: Sequence[T],
    act_batch: Callable[[Sequence[T]], None],
    act_one: Callable[[T], None],
    still_in_stage: Callable[[Sequence[T]], Sequence[T]],
    is_refused: Callable[[Exception], bool],
    arrived: Callable[[Sequence[T]], Sequence[T]] | None = None,
) -> tuple[list[Applied[T]], int]:
    try:
        remaining = list(still_in_stage(batch))
    except OutOfTime as error:
        return [Applied(item, ActionOutcome.DEFERRED, str(error)) for item in batch], 0
    except Exception as error:  # cannot tell which left: the whole batch again, then task by task
        logger.warning(
            "listing after a refused bundle failed; acting on the batch again",
            extra={"tasks": len(batch), "error": _describe(error)},
        )
        remaining = list(batch)
    results = _left(_gone(batch, remaining), arrived)
    if not remaining:
        return results, 0
    try:
        act_batch(remaining)
    except OutOfTime as error:
        return results + [Applied(item, ActionOutcome.DEFERRED, str(error)) for item in remaining], 1
    except Exception as error:
        if not is_refused(error):
            message = f"batch of {len(remaining)} failed: {_describe(error)}"
            return results + _after_failure(remaining, message, still_in_stage, arrived), 1
    else:
        return results + [Applied(item, ActionOutcome.DONE) for item in remaining], 1
    return results + _one_by_one(remaining, act_one, is_refused), 1 + len(remaining)


def _after_failure(
    batch: Sequence[T],
    message: str,
    still_in_stage: Callable[[Sequence[T]], Sequence[T]],
    arrived: Callable[[Sequence[T]], Sequence[T]] | None,
) -> list[Applied[T]]:
    """A batch request failed without a refusal (5xx, 429, dropped connection after the SDK's retries). Encord may
    have applied it before its answer was lost, so where the tasks are decides: still in the stage -> FAILED (the
    next run acts on them), gone -> as after a refusal. Without a listing, all count as FAILED."""
    try:
        remaining = list(still_in_stage(batch))
    except Exception as error:  # advisory: they stay FAILED, the next run lists the stage again
        logger.warning("could not tell which tasks a failed bundle moved", extra={"error": _describe(error)})
        return [Applied(item, ActionOutcome.FAILED, message) for item in batch]
    failed = [Applied(item, ActionOutcome.FAILED, message) for item in remaining]
    return _left(_gone(batch, remaining), arrived) + failed


def _gone(batch: Sequence[T], remaining: Sequence[T]) -> list[T]:
    """The items of `batch` a listing no longer found in the stage."""
    kept = {id(item) for item in remaining}
    return [item for item in batch if id(item) not in kept]


def _left(items: Sequence[T], arrived: Callable[[Sequence[T]], Sequence[T]] | None) -> list[Applied[T]]:
    """Items that left the stage: DONE where `arrived` finds them at our action's destination (our own request
    was applied, its answer lost), LEFT_STAGE otherwise (or when that cannot be told)."""
    ours: set[int] = set()
    if arrived is not None and items:
        try:
            ours = {id(item) for item in arrived(items)}
        except Exception as error:  # advisory: without the answer they count as moved by someone else
            logger.warning("could not tell where tasks went", extra={"tasks": len(items), "error": _describe(error)})
    return [Applied(i, ActionOutcome.DONE if id(i) in ours else ActionOutcome.LEFT_STAGE) for i in items]


def _one_by_one(
    items: Sequence[T], act_one: Callable[[T], None], is_refused: Callable[[Exception], bool]
) -> list[Applied[T]]:
    results: list[Applied[T]] = []
    for item in items:
        try:
            act_one(item)
        except OutOfTime as error:
            results.append(Applied(item, ActionOutcome.DEFERRED, str(error)))
        except Exception as single:
            if is_refused(single):
                results.append(Applied(item, ActionOutcome.LEFT_STAGE))
            else:
                results.append(Applied(item, ActionOutcome.FAILED, _describe(single)))
        else:
            results.append(Applied(item, ActionOutcome.DONE))
    return results
