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
    "A command is msgspec's decode and a lookup of its class: the depth and long-integer "
    "scans run only for commands that hold a free JSON value (`execute`, `input`), as "
    "C-level passes over the bytes, which is why `execute` is the worst. On the small "
    "ones what is left is the call into the codec and that lookup: a Python call costs "
    "about 50 ns here, and 1.15× of a 320 ns decode leaves 48 ns for everything."
)

REDIS_WHY = (
    "Each event costs the publishing process one call of the append script and every "
    "process one pub/sub message, through redis-py: about 220 µs of CPU per publish in "
    "redis-py's command path (packing, its connection pool, the reply) where a whole "
    "publish to the memory broker costs about 20 µs, spread here over 100 deliveries. "
    "Neither is decode or encode work any more (the frame goes through as it was "
    "encoded), and the script's 24 arguments after the payload now travel as one "
    "MessagePack array (packing them was a fifth of a publish). Left: the command path "
    "itself and asyncio's stream I/O; a connection held outside redis-py's pool would "
    "save 36 of the 129 µs a script call costs here: not enough to reach the target."
)

FANOUT_WHY = (
    "The floor sends one pre-encoded string per socket and does nothing else; flowwire "
    "also assigns the sequence number, keeps the event in the replay buffer and keeps "
    "each connection's queue, so that a slow client is cut off and a reconnecting one "
    "resumes without loss."
)

IDLE_WHY = (
    "Out of reach through ASGI on this machine: the raw floor, which does no work of its "
    "own at all, spends that much or more on uvicorn's protocol pings alone. flowwire's "
    "heartbeat cannot use those pings (ASGI does not expose them), so each connection's "
    "ping and pong are two more WebSocket messages through the server's ASGI queues, a "
    "task wake-up and a decode; turning uvicorn's own pings off (`--ws-ping-interval 0`, "
    "which `flowwire demo` does) removes the double work."
)

PUBLISH_CHECK_WHY = (
    "msgspec validates when it decodes, not when a Struct is built, so an event built in "
    "Python is checked by an encode and a strict decode (and an encode for MessagePack's "
    "integer range). Checking the fields in Python instead was tried and is slower: a "
    "predicate compiled per class from msgspec's type information took 2.4 µs for a "
    "nine-field event, `msgspec.convert` from attributes 0.8 µs, against 1.3 µs for the "
    "strict check. What is left is trusting the events the Reporter builds, with its "
    "arguments checked where they enter: not done in this round."
)

LATENCY_WHY = (
    "Not explained yet. Both servers fan an event out synchronously, one socket after "
    "the other, and the load generator (one core, about 35 µs of CPU per frame it "
    "receives, twice a server's cost per delivery) is the slower side at 1,000 clients, "
    "so the latency is mostly its queue. With 100 probes of 1,000 clients, flowwire's "
    "fastest probe saw 3 ms against the floor's 0.6 ms and its slowest 50 ms against 33: "
    "more than its 13% more CPU per delivery accounts for. Not the garbage collector "
    "(no better with it disabled); run-to-run spread is large (p50 18 to 33 ms)."
)
