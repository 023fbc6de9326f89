"""The HTTP and process runtime: app, auth, routing, problems, OpenAPI, manifests, CLI."""
