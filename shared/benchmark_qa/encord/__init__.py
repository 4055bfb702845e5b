"""The only place that imports the encord SDK: the client factory, registration, routing, label rows and
task actions."""
