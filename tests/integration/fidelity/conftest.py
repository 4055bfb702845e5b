"""The routing fixtures (the double, a client, the state table on moto) for the fidelity tests."""

from tests.integration.routing.conftest import aws_env, client, double, repository, routing_stack

__all__ = ["aws_env", "client", "double", "repository", "routing_stack"]
