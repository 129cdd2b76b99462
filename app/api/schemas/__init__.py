"""The REST answers as Pydantic models, one module per resource: each route declares one as its
`response_model`, so FastAPI checks every answer against it and /openapi.json describes it
(contracts/openapi.json, from which frontend-v2/src/lib/api.gen.ts is generated).

They are output models only: request bodies are other classes, beside their routes."""
