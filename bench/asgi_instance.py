"""`app`: the bench app named by `BENCH_APP`, built at import, for servers that take an
application instance rather than a factory (daphne: `daphne bench.asgi_instance:app`)."""

from __future__ import annotations

from bench.apps import create

app = create()
