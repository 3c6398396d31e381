"""The console's worker threads: where a request's database work runs, off the event loop.

Starlette's own `run_in_threadpool` goes through anyio (a capacity limiter, a cancel scope and a
task-local lookup per call): about 100 microseconds a hop here, where `loop.run_in_executor` on
a plain pool takes about 20 (bench/bench_console.py: the hop was a sixth of an API trigger).
Nothing here needs what anyio adds: a request's work is never cancelled half-way (a write is
finished or rolled back by the engine's unit of work), and it reads no context variables."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Callable, TypeVar

T = TypeVar("T")

# Writes are made one at a time anyway (acting.FrontDoor); reads run side by side, as many as
# anyio's default would have allowed.
THREADS = 40


class Workers:
    def __init__(self, threads: int = THREADS):
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="ast-console")

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, partial(call, *args) if args else call)
