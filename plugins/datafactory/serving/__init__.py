"""The product API: licensed consumers query published product versions; every call is metered.

- `keys`: API keys (format, Argon2 hash, fast digest for the verification cache)
- `access`: consumers and licenses in the state DB, and the in-memory snapshot requests check
- `limits`: per-license rate (token bucket) and daily quota
- `catalog`: product versions loaded once and indexed by key
- `ledger`: the append-only usage table and its batching writer
- `pricing`, `billing`, `statement`: cost-plus prices, pure billing, HTML/CSV statements
- `signing`: signed local download URLs
- `app`: the FastAPI application (`datafactory serve` runs it under uvicorn)
"""
