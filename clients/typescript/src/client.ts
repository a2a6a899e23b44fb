import { FlowwireError } from "./errors.js";
import {
  CloseCode,
  SUBPROTOCOLS,
  type AuthResult,
  type ClientFrame,
  type ControlAction,
  type ControlResult,
  type ExecuteResult,
  type ExecutionSnapshot,
  type InputResult,
  type JsonValue,
  type ListResult,
  type ServerFrame,
  type SincePosition,
  type StreamEvent,
  type SubscribeResult,
  type UnsubscribeResult,
  type WorkflowSpec,
} from "./protocol.js";

// -- the socket this client needs: the browser's WebSocket, Node 22's, or `ws` ----------

/** What the client uses of a WebSocket. The browser's, Node's global one and `ws` fit. */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  WebSocket?: WebSocketConstructor;
  console?: { error(...data: unknown[]): void };
}
const host = globalThis as unknown as Timers;

// -- public types -------------------------------------------------------------------

export type Status = "connecting" | "open" | "reconnecting" | "closed";

/** Where the connection stands; a new object on every change (`onStatus`). */
export interface ConnectionState {
  readonly status: Status;
  /** Failed connection attempts since the last open one (0 while open). */
  readonly attempt: number;
  /** The close code and reason of the last connection (`4002` also when this client's
   * heartbeat watchdog gave up on a silent connection). */
  readonly closeCode?: number;
  readonly closeReason?: string;
  /** The delay before the next attempt, while `reconnecting`. */
  readonly retryInMs?: number;
  /** From the current connection's `welcome`. */
  readonly connectionId?: string;
  readonly server?: string;
}

/** Sent to `on("reset")` when the server could not replay what was missed on a topic
 * (`recovered: false`): drop what you show for it; snapshots follow. */
export interface ResetEvent {
  readonly type: "reset";
  readonly topic: string;
  readonly epoch: string;
}

type EventOf<K extends StreamEvent["type"]> = Extract<StreamEvent, { type: K }>;
/** What `on(type, handler)` hands each handler. */
export type ClientEventMap = { [K in StreamEvent["type"]]: EventOf<K> } & {
  "execution.snapshot": ExecutionSnapshot;
  reset: ResetEvent;
  "*": StreamEvent;
};

export type Command = DistributiveOmit<
  Exclude<ClientFrame, { type: "ping" } | { type: "pong" }>,
  "ref"
>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** The `data` of the reply to each command. */
export type ResultOf<C extends Command> = C extends { type: "auth" }
  ? AuthResult
  : C extends { type: "subscribe" }
    ? SubscribeResult
    : C extends { type: "unsubscribe" }
      ? UnsubscribeResult
      : C extends { type: "execute" }
        ? ExecuteResult
        : C extends { type: "control" }
          ? ControlResult
          : C extends { type: "list" }
            ? ListResult
            : InputResult;

export interface RequestOptions {
  /** Reject with a `timeout` FlowwireError after this long (default: `requestTimeoutMs`). */
  timeoutMs?: number;
  /** For `execute`, `control` and `input`: the command's idempotency key (default: a new
   * random one). A command the connection dropped before its answer is sent again after
   * the reconnect with the same key, and runs once; pass your own to retry it yourself
   * after a `timeout` without running it twice. */
  idempotencyKey?: string;
}

/** A random idempotency key (a UUID where the platform has one). */
function newKey(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  return Array.from({ length: 4 }, () => Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, "0")).join("");
}

export interface ErrorContext {
  /** `listener`: a handler threw; `server`: an `error` frame no command waits for;
   * `frame`: a frame that could not be decoded; `auth`: the token callback failed. */
  readonly kind: "listener" | "server" | "frame" | "auth";
  readonly event?: unknown;
}

export interface ClientOptions {
  /** `json` (default) or `msgpack` (loads `@msgpack/msgpack` when first connecting). */
  protocol?: "json" | "msgpack";
  /** A WebSocket implementation, such as `ws` in Node 20; default: the global one. */
  WebSocket?: WebSocketConstructor;
  /** First-message auth: called before each connection's `auth` command, and after a
   * 4001/1008/403 refusal; returning the same token as before (or null) stops reconnecting. */
  token?: () => string | null | undefined | Promise<string | null | undefined>;
  /** Reconnect delays: full jitter over `min(maxMs, baseMs * 2^attempt)`. */
  backoff?: { baseMs?: number; maxMs?: number; maxAttempts?: number };
  /** The least delay after 1013 (try again later) and 4029 (too many messages). */
  slowDownMs?: number;
  /** Commands wait this long for their answer (default 10 s), connecting time included. */
  requestTimeoutMs?: number;
  /** Commands that may wait for a connection at once (default 100). */
  maxQueued?: number;
  /** A connection silent for `heartbeat_ms` + this is dead (default 10 s). */
  heartbeatTimeoutMs?: number;
  /** Give up on a connection attempt without `welcome` after this long (default 10 s). */
  connectTimeoutMs?: number;
  /** Ask the server for `batch` frames (several queued frames in one). */
  batch?: boolean;
  /** Connect at once (default) or wait for `connect()`. */
  autoConnect?: boolean;
  /** A handler threw, or the server reported an error no command waits for. */
  onError?: (error: unknown, context: ErrorContext) => void;
}

/** Counters for tests and dashboards. */
export interface ClientStats {
  /** Events dropped because their seq was already applied. */
  duplicates: number;
  /** Holes in a topic's seq found (each answered by a resubscribe with `since`). */
  gaps: number;
  /** Topics reset because the server could not replay (`recovered: false`). */
  resets: number;
  /** Connections opened after the first. */
  reconnects: number;
}

// -- internals ------------------------------------------------------------------------

interface Pending {
  readonly ref: string;
  readonly frame: ClientFrame;
  readonly resolve: (data: unknown) => void;
  readonly reject: (error: FlowwireError) => void;
  /** Runs in frame order when the reply arrives, before any later frame. */
  readonly onReply?: (data: unknown) => void;
  timer: unknown;
}

interface Codec {
  readonly subprotocol: string;
  encode(frame: ClientFrame): string | Uint8Array;
  decode(data: unknown): unknown;
}

const JSON_CODEC: Codec = {
  subprotocol: SUBPROTOCOLS[0],
  encode: (frame) => JSON.stringify(frame),
  decode: (data) => JSON.parse(data as string),
};

async function msgpackCodec(): Promise<Codec> {
  const { encode, decode } = await import("@msgpack/msgpack");
  return {
    subprotocol: SUBPROTOCOLS[1],
    encode: (frame) => encode(frame),
    decode: (data) => decode(data as ArrayBuffer),
  };
}

const AUTH_CODES = new Set<number>([CloseCode.UNAUTHORIZED, CloseCode.POLICY_VIOLATION]);
const SLOW_DOWN_CODES = new Set<number>([CloseCode.TRY_AGAIN_LATER, 4029]);
const isPattern = (topic: string): boolean => topic.endsWith("*");

type Listener = (event: never) => void;

/**
 * One WebSocket to a flowwire server, kept open: reconnects with backoff, resumes every
 * topic from its last `{seq, epoch}`, answers pings, watches the heartbeat, and queues
 * commands while disconnected.
 */
export class FlowwireClient {
  readonly stats: ClientStats = { duplicates: 0, gaps: 0, resets: 0, reconnects: 0 };
  private readonly options: ClientOptions;
  private readonly url: string | (() => string | Promise<string>);
  private state: ConnectionState = { status: "closed", attempt: 0 };
  private socket: WebSocketLike | null = null;
  private codec: Codec = JSON_CODEC;
  private welcomed = false;
  private stopped = true;
  private everOpen = false;
  private generation = 0;
  private nextRef = 0;
  private heartbeatMs = 0;
  private goawayMs: number | null = null;
  private lastToken: string | null = null;
  /** The fresh token a refusal obtained, for the next connection's `auth`. */
  private nextToken: string | null = null;
  private watchdog: unknown;
  private retry: unknown;
  private readonly queue: Pending[] = [];
  /** subscribe() calls made offline: answered by the subscribe sent after `welcome`. */
  private readonly subscribeWaiters: Pending[] = [];
  private readonly inflight = new Map<string, Pending>();
  /** Topics to hold across reconnects; `positions` has the last applied seq of each. */
  private readonly topics = new Set<string>();
  /** The event-type filter a topic is subscribed with (`types`), if any. */
  private readonly filters = new Map<string, string[]>();
  /** Topics whose subscribe reply says they are filtered: their seqs skip, so no gaps. */
  private readonly filtered = new Set<string>();
  private readonly positions = new Map<string, SincePosition>();
  private readonly resyncing = new Set<string>();
  /** Topics subscribed by `execute` that have had no event yet, with their epoch once the
   * subscribe for it is answered: their first event sets their position, whatever the
   * reply's seq (the server may still send events up to it: it held them meanwhile). */
  private readonly awaitingFirstEvent = new Map<string, string>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly statusListeners = new Set<(state: ConnectionState) => void>();
  private readyWaiters: { resolve: () => void; reject: (error: FlowwireError) => void }[] = [];

  constructor(url: string | (() => string | Promise<string>), options: ClientOptions = {}) {
    this.url = url;
    this.options = options;
    if (options.autoConnect !== false) this.connect();
  }

  // -- connection -------------------------------------------------------------------

  get connection(): ConnectionState {
    return this.state;
  }

  get status(): Status {
    return this.state.status;
  }

  /** Call `listener` with every new ConnectionState; returns the unsubscribe function. */
  onStatus(listener: (state: ConnectionState) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Resolves when the connection is open (at once if it is); rejects if the client closes. */
  get ready(): Promise<void> {
    if (this.state.status === "open") return Promise.resolve();
    if (this.state.status === "closed" && this.stopped) {
      return Promise.reject(new FlowwireError("closed", "the client is closed"));
    }
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** (Re)start connecting; a no-op while connected or connecting. */
  connect(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.setState({ status: this.everOpen ? "reconnecting" : "connecting", attempt: 0 });
    void this.open();
  }

  /** Close for good: no reconnect; waiting commands are rejected with `closed`. */
  close(): void {
    this.stopped = true;
    this.generation++;
    host.clearTimeout(this.retry);
    host.clearTimeout(this.watchdog);
    this.dropSocket(1000, "closed by the client");
    this.failAll(new FlowwireError("closed", "the client was closed"), true);
    this.setState({ status: "closed", attempt: 0, closeCode: 1000, closeReason: "closed by the client" });
  }

  // -- events -----------------------------------------------------------------------

  /** Handle every event of one type (`"*"`: every stream event); returns the unsubscribe
   * function. A handler that throws reaches `onError` and harms nobody else. */
  on<K extends keyof ClientEventMap>(type: K, handler: (event: ClientEventMap[K]) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    const listener = handler as Listener;
    set.add(listener);
    return () => set.delete(listener);
  }

  /** The last applied position of a topic, to resume from. */
  position(topic: string): SincePosition | undefined {
    return this.positions.get(topic);
  }

  // -- commands ---------------------------------------------------------------------

  /** Receive topics' events, now and after every reconnect (resumed by seq). Offline, the
   * topics join the subscribe sent after the next `welcome`, whose reply this resolves to. */
  subscribe(
    topics: string | string[],
    options: { snapshot?: boolean; /** Only events of these types (`"node.*"`). */ types?: string[] } & RequestOptions = {},
  ): Promise<SubscribeResult> {
    const list = typeof topics === "string" ? [topics] : topics;
    for (const topic of list) {
      this.topics.add(topic);
      if (options.types?.length) this.filters.set(topic, options.types);
      else this.filters.delete(topic);
    }
    if (!this.welcomed) {
      return this.send({ type: "subscribe", topics: list }, options, undefined, true) as Promise<SubscribeResult>;
    }
    const since = this.since(list);
    const frame: Command = { type: "subscribe", topics: list, since };
    if (options.snapshot === false) frame.snapshot = false;
    if (options.types?.length) frame.types = options.types;
    if (this.options.batch) frame.batch = true;
    return this.send(frame, options, (data) => this.subscribed(data as SubscribeResult, since)) as Promise<SubscribeResult>;
  }

  unsubscribe(topics: string | string[], options: RequestOptions = {}): Promise<UnsubscribeResult> {
    const list = typeof topics === "string" ? [topics] : topics;
    for (const topic of list) {
      this.topics.delete(topic);
      this.positions.delete(topic);
      this.awaitingFirstEvent.delete(topic);
      this.filters.delete(topic);
      this.filtered.delete(topic);
    }
    return this.request({ type: "unsubscribe", topics: list }, options);
  }

  /** Run a workflow. With `subscribe` (default), its topic is held and resumed like any. */
  async execute(
    workflow: WorkflowSpec,
    options: { inputs?: { [key: string]: JsonValue }; subscribe?: boolean } & RequestOptions = {},
  ): Promise<ExecuteResult> {
    const frame: Command = { type: "execute", workflow, idempotency_key: options.idempotencyKey ?? newKey() };
    if (options.inputs !== undefined) frame.inputs = options.inputs;
    if (options.subscribe === false) frame.subscribe = false;
    const result = await this.request(frame, options);
    if (options.subscribe !== false && !this.topics.has(result.topic)) {
      // The server subscribed this connection; a subscribe without snapshots gets the
      // topic's epoch, so that a reconnect resumes it.
      this.topics.add(result.topic);
      if (!this.positions.has(result.topic)) this.awaitingFirstEvent.set(result.topic, "");
      if (this.welcomed) {
        this.subscribe(result.topic, { snapshot: false }).catch((error: unknown) => this.report(error, { kind: "server" }));
      }
    }
    return result;
  }

  control(executionId: string, action: ControlAction, options: RequestOptions = {}): Promise<ControlResult> {
    return this.request({ type: "control", execution_id: executionId, action, idempotency_key: options.idempotencyKey ?? newKey() }, options);
  }

  input(executionId: string, nodeId: string, value: JsonValue, options: RequestOptions = {}): Promise<InputResult> {
    return this.request({ type: "input", execution_id: executionId, node_id: nodeId, value, idempotency_key: options.idempotencyKey ?? newKey() }, options);
  }

  /** The recent executions, live and finished, of the topics (or `prefix*` patterns; default
   * every topic) that this connection's principal may subscribe to, newest first. */
  list(options: { topics?: string[]; limit?: number; nodes?: boolean } & RequestOptions = {}): Promise<ListResult> {
    const frame: Command = { type: "list" };
    if (options.topics !== undefined) frame.topics = options.topics;
    if (options.limit !== undefined) frame.limit = options.limit;
    if (options.nodes !== undefined) frame.nodes = options.nodes;
    return this.request(frame, options);
  }

  /** Send any command; resolves with its reply's data, rejects with a FlowwireError. While
   * disconnected it waits in a bounded queue and is sent after the next `welcome`. */
  request<C extends Command>(command: C, options: RequestOptions = {}): Promise<ResultOf<C>> {
    return this.send(command, options) as Promise<ResultOf<C>>;
  }

  private send(command: Command, options: RequestOptions, onReply?: (data: unknown) => void, resubscribe = false): Promise<unknown> {
    if (this.stopped && this.state.status === "closed") {
      return Promise.reject(new FlowwireError("closed", `${command.type}: the client is closed`));
    }
    const ref = `${command.type[0]}${++this.nextRef}`;
    const frame = { ...command, ref } as ClientFrame;
    return new Promise((resolve, reject) => {
      const pending: Pending = { ref, frame, resolve, reject, timer: undefined, ...(onReply ? { onReply } : {}) };
      if (!this.welcomed && this.queue.length >= (this.options.maxQueued ?? 100)) {
        reject(new FlowwireError("queue_full", `${command.type} ${ref}: ${this.queue.length} commands already wait for a connection`, { ref }));
        return;
      }
      const ms = options.timeoutMs ?? this.options.requestTimeoutMs ?? 10_000;
      pending.timer = host.setTimeout(() => {
        const list = resubscribe ? this.subscribeWaiters : this.queue;
        const queued = list.indexOf(pending);
        if (queued >= 0) list.splice(queued, 1);
        this.inflight.delete(ref);
        const why = queued >= 0 ? ` (never sent: the connection is ${this.state.status})` : "";
        reject(new FlowwireError("timeout", `${command.type} ${ref}: no answer within ${ms} ms${why}`, { ref }));
      }, ms);
      if (resubscribe) this.subscribeWaiters.push(pending);
      else if (this.welcomed) this.transmit(pending);
      else this.queue.push(pending);
    });
  }

  private transmit(pending: Pending): void {
    this.inflight.set(pending.ref, pending);
    this.write(pending.frame);
  }

  private write(frame: ClientFrame): void {
    try {
      this.socket?.send(this.codec.encode(frame));
    } catch {
      // The socket closed under us: its close event rejects what is in flight.
    }
  }

  // -- the connection's life ----------------------------------------------------------

  private async open(): Promise<void> {
    const generation = ++this.generation;
    this.welcomed = false;
    let socket: WebSocketLike;
    try {
      const url = typeof this.url === "function" ? await this.url() : this.url;
      if (this.options.protocol === "msgpack" && this.codec === JSON_CODEC) this.codec = await msgpackCodec();
      if (generation !== this.generation) return;
      const Socket = this.options.WebSocket ?? host.WebSocket;
      if (!Socket) throw new Error("no WebSocket: pass one (for example `ws`) as options.WebSocket");
      socket = new Socket(url, this.codec.subprotocol);
    } catch (error) {
      if (generation !== this.generation) return;
      this.report(error, { kind: "frame" });
      this.closed(1006, String(error));
      return;
    }
    socket.binaryType = "arraybuffer";
    let refusal = "";
    socket.onmessage = ((event: { data: unknown }) => {
      if (this.socket === socket) this.receive(event.data);
    }) as (event: never) => void;
    socket.onerror = ((event: { message?: unknown }) => {
      // `ws` names the HTTP status of a refused upgrade; a browser cannot see it.
      if (typeof event?.message === "string") refusal = event.message;
    }) as (event: never) => void;
    socket.onclose = ((event: { code: number; reason: string }) => {
      if (this.socket !== socket) return;
      const http = /Unexpected server response: (\d+)/.exec(refusal);
      this.socket = null;
      if (http) this.closed(1006, `HTTP ${http[1]}`, Number(http[1]));
      else this.closed(event.code, event.reason);
    }) as (event: never) => void;
    this.socket = socket;
    this.arm(this.options.connectTimeoutMs ?? 10_000, "no welcome from the server");
  }

  private receive(data: unknown): void {
    this.arm(this.heartbeatMs && this.heartbeatMs + (this.options.heartbeatTimeoutMs ?? 10_000), "heartbeat timeout");
    let frame: ServerFrame;
    try {
      frame = this.codec.decode(data) as ServerFrame;
    } catch (error) {
      this.report(error, { kind: "frame", event: data });
      return;
    }
    this.dispatch(frame);
  }

  private dispatch(frame: ServerFrame): void {
    switch (frame.type) {
      case "batch":
        for (const inner of frame.frames) this.dispatch(inner);
        return;
      case "welcome":
        this.heartbeatMs = frame.heartbeat_ms;
        this.arm(this.heartbeatMs && this.heartbeatMs + (this.options.heartbeatTimeoutMs ?? 10_000), "heartbeat timeout");
        this.welcome(frame.connection_id, frame.server);
        return;
      case "ping":
        this.write({ type: "pong", ts: frame.ts });
        return;
      case "reply":
      case "error": {
        const pending = frame.ref == null ? undefined : this.inflight.get(frame.ref);
        if (!pending) {
          if (frame.type === "error") this.report(FlowwireError.fromFrame(frame), { kind: "server", event: frame });
          return;
        }
        this.inflight.delete(pending.ref);
        host.clearTimeout(pending.timer);
        if (frame.type === "error") pending.reject(FlowwireError.fromFrame(frame));
        else {
          pending.onReply?.(frame.data);
          pending.resolve(frame.data);
        }
        return;
      }
      case "goaway":
        this.goawayMs = frame.reconnect_ms;
        return;
      case "execution.snapshot":
        this.emit("execution.snapshot", frame);
        return;
      case "pong":
      case "engine.command": // only engines get it (engine.ts), never a user's connection
        return;
      default:
        // Stream events, including application events this build does not know.
        if (typeof (frame as { seq?: unknown }).seq === "number") this.event(frame);
    }
  }

  private welcome(connectionId: string, server: string): void {
    this.goawayMs = null;
    if (!this.options.token) {
      this.opened(connectionId, server);
      return;
    }
    const generation = this.generation;
    const next = this.nextToken;
    this.nextToken = null;
    void (next !== null ? Promise.resolve(next) : this.freshToken(false)).then((token) => {
      if (generation !== this.generation) return;
      if (token === null) {
        this.opened(connectionId, server);
        return;
      }
      // Commands wait for the answer: one sent after a refused token is lost with it. A
      // refused token closes the connection (4001); an `error` frame instead means that
      // this server takes no `auth` (or needs none now): go on without.
      this.internal({ type: "auth", token }, () => this.opened(connectionId, server), (error) => {
        if (error.code !== "disconnected" && error.code !== "closed") this.opened(connectionId, server);
      });
    });
  }

  /** Welcomed (and authenticated): resubscribe with `since`, then send what waited. */
  private opened(connectionId: string, server: string): void {
    const waiters = this.subscribeWaiters.splice(0);
    if (this.topics.size) {
      // One subscribe per event-type filter; the waiters are answered once all replied.
      const groups = new Map<string, { topics: string[]; types: string[] | undefined }>();
      for (const topic of this.topics) {
        const types = this.filters.get(topic);
        const key = types ? JSON.stringify(types) : "";
        const group = groups.get(key) ?? { topics: [], types };
        group.topics.push(topic);
        groups.set(key, group);
      }
      const all: SubscribeResult["topics"] = {};
      let waiting = groups.size;
      let failed = false;
      for (const { topics, types } of groups.values()) {
        const since = this.since(topics, true);
        const frame: Command = { type: "subscribe", topics, since, ...(this.options.batch ? { batch: true } : {}) };
        if (types) frame.types = types;
        this.internal(frame, (data) => {
          this.subscribed(data as SubscribeResult, since);
          Object.assign(all, (data as SubscribeResult).topics);
          if (--waiting > 0 || failed) return;
          for (const waiter of waiters) {
            const mine = (waiter.frame as { topics: string[] }).topics;
            const topicsOf: SubscribeResult["topics"] = {};
            for (const topic of mine) if (all[topic]) topicsOf[topic] = all[topic];
            host.clearTimeout(waiter.timer);
            waiter.resolve({ topics: topicsOf });
          }
        }, (error) => {
          if (failed) return;
          failed = true;
          // Lost with the connection: the next one's subscribe answers them.
          if (error.code === "disconnected") this.subscribeWaiters.push(...waiters);
          else {
            for (const waiter of waiters) {
              host.clearTimeout(waiter.timer);
              waiter.reject(error);
            }
          }
        });
      }
    }
    this.welcomed = true;
    if (this.everOpen) this.stats.reconnects++;
    this.everOpen = true;
    this.setState({ status: "open", attempt: 0, connectionId, server });
    for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
    for (const pending of this.queue.splice(0)) this.transmit(pending);
  }

  /** A command of the client's own (auth, resubscribe): no timeout; a lost connection is
   * not an error (the next `welcome` sends it again), a refusal is reported. */
  private internal(command: Command, onReply?: (data: unknown) => void, onError?: (error: FlowwireError) => void): void {
    const ref = `${command.type[0]}${++this.nextRef}`;
    this.transmit({
      ref,
      frame: { ...command, ref } as ClientFrame,
      resolve: () => {},
      reject: (error) => {
        onError?.(error);
        if (error.code !== "disconnected" && error.code !== "closed") this.report(error, { kind: command.type === "auth" ? "auth" : "server" });
      },
      timer: undefined,
      ...(onReply ? { onReply } : {}),
    });
  }

  /** Where to resume each topic from. On a new connection (`all`), a position without an
   * epoch (a topic seen before its subscribe reply) is sent too: the server cannot replay
   * it, and says so (`recovered: false`, a reset and snapshots). On the same connection
   * only positions with an epoch are: the others are live already. */
  private since(topics: string[], all = false): { [topic: string]: SincePosition } {
    const since: { [topic: string]: SincePosition } = {};
    for (const topic of topics) {
      const position = this.positions.get(topic);
      if (position && !isPattern(topic) && (all || position.epoch)) since[topic] = { seq: position.seq, epoch: position.epoch };
    }
    return since;
  }

  /** A subscribe reply, in frame order: set each topic's position, or reset it. */
  private subscribed(result: SubscribeResult, since: { [topic: string]: SincePosition }): void {
    for (const [topic, position] of Object.entries(result.topics)) {
      this.resyncing.delete(topic);
      if (position.types) this.filtered.add(topic);
      else this.filtered.delete(topic);
      if (isPattern(topic)) continue;
      const held = this.positions.get(topic);
      const awaiting = this.awaitingFirstEvent.delete(topic);
      if (position.recovered) {
        // The replay after our seq follows.
        this.positions.set(topic, { seq: held?.seq ?? since[topic]?.seq ?? 0, epoch: position.epoch });
      } else if (since[topic]) {
        this.stats.resets++;
        this.positions.set(topic, { seq: position.seq, epoch: position.epoch });
        this.emit("reset", { type: "reset", topic, epoch: position.epoch });
      } else if (held && held.seq < position.seq && this.topics.has(topic)) {
        // We were already receiving this topic (after `execute`, or through a pattern):
        // events up to the reply's seq that we have not seen may not come (through a
        // pattern they do not). Ask for them; the ones that do come are duplicates.
        this.positions.set(topic, { seq: held.seq, epoch: position.epoch });
        this.resync(topic);
      } else if (!held && awaiting) {
        // Live since `execute`: the events the reply's seq counts still come, after it.
        this.awaitingFirstEvent.set(topic, position.epoch);
      } else {
        this.positions.set(topic, { seq: Math.max(held?.seq ?? 0, position.seq), epoch: position.epoch });
      }
    }
  }

  /** Subscribe again with `since`: the server replays what came after our position. */
  private resync(topic: string): void {
    if (this.resyncing.has(topic)) return;
    this.resyncing.add(topic);
    const position = this.positions.get(topic);
    const since = position ? { [topic]: { seq: position.seq, epoch: position.epoch } } : {};
    const types = this.filters.get(topic);
    this.internal({ type: "subscribe", topics: [topic], since, ...(types ? { types } : {}) }, (data) => this.subscribed(data as SubscribeResult, since));
  }

  private event(event: StreamEvent): void {
    const topic = event.topic;
    const position = this.positions.get(topic);
    if (position) {
      if (event.seq <= position.seq) {
        this.stats.duplicates++;
        return;
      }
      // A filtered topic skips the seqs of the types it leaves out: no gap.
      if (event.seq !== position.seq + 1 && position.epoch && this.topics.has(topic) && !this.filtered.has(topic)) {
        // Never a silent hole: ask for the replay after the last event applied.
        this.stats.gaps++;
        this.resync(topic);
        return;
      }
    }
    let epoch = position?.epoch;
    if (epoch === undefined) {
      epoch = this.awaitingFirstEvent.get(topic) ?? "";
      this.awaitingFirstEvent.delete(topic);
    }
    this.positions.set(topic, { seq: event.seq, epoch });
    this.emit(event.type, event);
    this.emit("*", event);
  }

  private emit(type: string, event: unknown): void {
    const set = this.listeners.get(type);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as (event: unknown) => void)(event);
      } catch (error) {
        this.report(error, { kind: "listener", event });
      }
    }
  }

  private report(error: unknown, context: ErrorContext): void {
    const onError = this.options.onError;
    try {
      if (onError) onError(error, context);
      else host.console?.error("flowwire:", context.kind, error);
    } catch {
      // An onError that throws has nowhere left to report to.
    }
  }

  /** (Re)arm the watchdog: nothing received for `ms` means the connection is dead. */
  private arm(ms: number, reason: string): void {
    host.clearTimeout(this.watchdog);
    if (!ms) return;
    const socket = this.socket;
    this.watchdog = host.setTimeout(() => {
      if (socket === this.socket) {
        this.dropSocket(CloseCode.HEARTBEAT_TIMEOUT, reason);
        this.closed(CloseCode.HEARTBEAT_TIMEOUT, reason);
      }
    }, ms);
  }

  /** Stop listening to the current socket and close it without waiting for its close
   * handshake (a half-open connection never answers it). */
  private dropSocket(code: number, reason: string): void {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    try {
      const terminate = (socket as { terminate?: () => void }).terminate;
      if (terminate) terminate.call(socket);
      else socket.close(code === 1000 ? 1000 : 4000, reason);
    } catch {
      // Already closed.
    }
  }

  private closed(code: number, reason: string, httpStatus?: number): void {
    host.clearTimeout(this.watchdog);
    this.welcomed = false;
    this.generation++;
    // A command with an idempotency key runs once however often it is sent: it waits for
    // the next connection (within its timeout). The others cannot know: they are rejected.
    const again = [...this.inflight.values()].filter((pending) => "idempotency_key" in pending.frame && pending.frame.idempotency_key != null);
    for (const pending of again) this.inflight.delete(pending.ref);
    this.queue.unshift(...again);
    this.failAll(new FlowwireError("disconnected", `the connection closed (${code}${reason ? ` ${reason}` : ""}) before the answer`), false);
    if (this.stopped) return;
    const attempt = this.state.status === "open" ? 0 : this.state.attempt;
    const refused = AUTH_CODES.has(code) || httpStatus === 401 || httpStatus === 403;
    if (refused) {
      void this.freshToken(true).then((token) => {
        if (token === null || this.stopped) this.giveUp(code, reason || "unauthorized");
        else {
          this.nextToken = token;
          this.schedule(attempt, code, reason, this.backoff(attempt));
        }
      });
      return;
    }
    const max = this.options.backoff?.maxAttempts ?? Infinity;
    if (attempt >= max) {
      this.giveUp(code, reason);
      return;
    }
    let delay = this.backoff(attempt);
    if (code === CloseCode.GOING_AWAY && this.goawayMs !== null) {
      delay = this.goawayMs + Math.random() * (this.options.backoff?.baseMs ?? 500);
    } else if (SLOW_DOWN_CODES.has(code)) {
      delay += this.options.slowDownMs ?? 10_000;
    }
    this.goawayMs = null;
    this.schedule(attempt, code, reason, delay);
  }

  /** After a refusal: a token different from the one refused, or null (give up). */
  private async freshToken(refused: boolean): Promise<string | null> {
    const source = this.options.token;
    if (!source) return refused ? null : null;
    let token: string | null | undefined;
    try {
      token = await source();
    } catch (error) {
      this.report(error, { kind: "auth" });
      return null;
    }
    if (token == null || (refused && token === this.lastToken)) return null;
    this.lastToken = token;
    return token;
  }

  private backoff(attempt: number): number {
    const base = this.options.backoff?.baseMs ?? 500;
    const max = this.options.backoff?.maxMs ?? 30_000;
    return Math.random() * Math.min(max, base * 2 ** attempt); // full jitter
  }

  private schedule(attempt: number, code: number, reason: string, delay: number): void {
    const ms = Math.round(delay);
    this.setState({ status: this.everOpen ? "reconnecting" : "connecting", attempt: attempt + 1, closeCode: code, closeReason: reason, retryInMs: ms });
    host.clearTimeout(this.retry);
    this.retry = host.setTimeout(() => {
      if (!this.stopped) void this.open();
    }, ms);
  }

  private giveUp(code: number, reason: string): void {
    this.stopped = true;
    this.failAll(new FlowwireError("closed", `gave up connecting (${code}${reason ? ` ${reason}` : ""})`), true);
    this.setState({ status: "closed", attempt: this.state.attempt, closeCode: code, closeReason: reason });
  }

  /** Reject the commands in flight (and, with `queued`, those waiting to be sent). */
  private failAll(error: FlowwireError, queued: boolean): void {
    const victims = [...this.inflight.values(), ...(queued ? [...this.queue.splice(0), ...this.subscribeWaiters.splice(0)] : [])];
    this.inflight.clear();
    for (const pending of victims) {
      host.clearTimeout(pending.timer);
      pending.reject(error);
    }
    if (queued) for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    for (const listener of [...this.statusListeners]) {
      try {
        listener(state);
      } catch (error) {
        this.report(error, { kind: "listener", event: state });
      }
    }
  }
}
