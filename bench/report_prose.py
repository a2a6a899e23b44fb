"""The prose of docs/benchmarks.md: how it is measured, and why a target is not met."""

from __future__ import annotations

METHOD = """## How it is measured

- Each server runs in its own process: uvicorn with the `websockets-sansio`
  WebSocket implementation and uvloop, one worker, pinned to core 0; the load
  generator (raw asyncio protocols on uvloop, no WebSocket library in the way)
  runs on core 1.
- The servers under test are in `bench/apps.py`: **raw** is an ASGI loop that
  awaits `send` of one pre-encoded string per socket, the floor any Python ASGI
  app can reach; **manager** is the seeds' hand-rolled Starlette manager (a set
  of sockets, `await send_text` in a loop); **socketio** is python-socketio's
  `ASGIApp` emitting to a room; **broadcaster** is encode/broadcaster (memory
  backend) with Starlette; **flowwire** is `FlowwireApp.publish`. Every one
  sends the same ~300-byte `node.status` event.
- Events are published from inside the server process (`POST /bench/run`), so
  every contender pays for encoding its own frame.
- Server CPU is read from `/proc/<pid>/task/*/schedstat` (nanoseconds, every
  thread) before and after a phase, and divided by the frames the clients
  received. The load generator's own CPU is read the same way: a phase in which
  it was busy more than 90% of the wall time is counted as *client-bound*, and
  its throughput says more about the generator than about the server.
- Contenders run at the same time and their repetitions are interleaved
  (A B C, B C A, …); the median is reported.
"""

CODEC_WHY = (
    "Around msgspec's decode, flowwire counts the frame's brackets (a frame nesting "
    "deeper than 64 levels is refused before it can exhaust the stack) and its digits "
    "(integers beyond 64 bits are refused with their path): two C-level passes and a few "
    "Python calls, a fixed cost that weighs most on the smallest frame."
)

REDIS_WHY = (
    "Each event costs the publishing process one Redis round trip (the append script) "
    "and every process one pub/sub message, through redis-py; neither is decode or "
    "encode work any more (the frame goes through as it was encoded). At 100 clients "
    "those round trips are spread over 100 deliveries only."
)

FANOUT_WHY = (
    "The floor sends one pre-encoded string per socket and does nothing else; flowwire "
    "also assigns the sequence number, keeps the event in the replay buffer and keeps "
    "each connection's queue, so that a slow client is cut off and a reconnecting one "
    "resumes without loss."
)
