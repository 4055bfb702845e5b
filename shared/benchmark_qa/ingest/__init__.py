"""S3 objects -> typed import items -> Encord import manifests (JSON and CSV)."""
