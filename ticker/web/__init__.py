"""Serving: request handlers, HTTP for pollers and embedders (validators, 304, compression, CORS), the SSE hub,
/readyz, /openapi.json and the history route. Handlers read the snapshot and nothing else."""
