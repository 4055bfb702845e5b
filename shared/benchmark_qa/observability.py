"""One Logger, Metrics and Tracer for every function (Powertools' own advice: never create more)."""

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "benchmark-qa"
NAMESPACE = "BenchmarkQA"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)
