"""`benchmark-qa doctor`: is a deployment ready to run the Benchmark QA workflow? (docs/setup.md, step 8)"""

from benchmark_qa_local.doctor.checks import Check, Doctor, Status
from benchmark_qa_local.doctor.deployed import Deployed, StackNotFound, from_cloudformation, from_local_stack

__all__ = ["Check", "Deployed", "Doctor", "StackNotFound", "Status", "from_cloudformation", "from_local_stack"]
