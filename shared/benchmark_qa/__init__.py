"""benchmark-qa core: S3 ingest, Encord registration, Benchmark QA routing and annotator scoring.

Shipped to Lambda as a layer. Sub-packages, one concept each:
  config         settings models, the only reader of os.environ
  observability  one Logger / Metrics / Tracer for everyone
  ingest         S3 keys -> typed items -> Encord import manifests (JSON / CSV)
  encord         the only place that imports the encord SDK
  scoring        pure: label rows + ontology -> scores + conflicts
  store          the only place that talks to DynamoDB
"""

__version__ = "0.1.0"
