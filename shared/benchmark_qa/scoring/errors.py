"""Errors the scoring engine raises on bad input. Each names the thing at fault so a CLI can print it as is."""

from __future__ import annotations


class ScoringError(ValueError):
    """Base class: input that cannot be scored."""


class OntologyError(ScoringError):
    """The ontology structure is malformed."""


class LabelRowError(ScoringError):
    """A label row is malformed; the message names the objectHash / classificationHash and the field."""


class ConfigError(ScoringError):
    """The scoring config is invalid or refers to classes / attributes the ontology does not have."""


class RowMismatchError(ScoringError):
    """The two label rows do not label the same data (different data type, or no data unit in common)."""
