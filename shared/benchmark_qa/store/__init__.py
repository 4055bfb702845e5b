"""The only place that talks to DynamoDB. One table (StateTable in template.yaml) holds every record; each
repository module documents the keys and access patterns it owns."""
