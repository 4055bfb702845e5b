"""`benchmark-qa setup`: the Encord side of a deployment found or created through the SDK, checked, and written
as the stack's deployment parameters (docs/setup.md)."""

from benchmark_qa_local.setup.config import SetupConfig, SetupConfigError, load_config
from benchmark_qa_local.setup.run import SetupResult, run_setup
from benchmark_qa_local.setup.workspace import Outcome, SetupAborted, Step

__all__ = [
    "Outcome",
    "SetupAborted",
    "SetupConfig",
    "SetupConfigError",
    "SetupResult",
    "Step",
    "load_config",
    "run_setup",
]
