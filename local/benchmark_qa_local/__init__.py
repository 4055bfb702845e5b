"""Developer and demo tooling that never ships in a Lambda: the moto stack built from template.yaml,
the Encord API double, the Docker-free invoker, the demo and the `benchmark-qa` command line."""
