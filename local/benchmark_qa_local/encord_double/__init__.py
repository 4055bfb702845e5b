"""An HTTP-level stand-in for the Encord API (as moto is for AWS): the unmodified `encord` SDK talks to it over
real HTTP. See docs/encord-double.md."""

from .faults import FaultConfig, FaultKind, FaultRule
from .server import EncordDouble
from .signatures import KeyPair, generate_key_pair
from .state import DoubleState

__all__ = [
    "DoubleState",
    "EncordDouble",
    "FaultConfig",
    "FaultKind",
    "FaultRule",
    "KeyPair",
    "generate_key_pair",
]
