"""The operators' console: server-rendered pages of the same Chalice app, over the same use cases as the JSON
routes (ARCHITECTURE: "The console is server-rendered"); its blueprints are in ``routes``."""
