// A workflow engine in a Node process behind a flowwire server (docs/engine.md).
//
//   import WebSocket from "ws";
//   import { EngineClient } from "@flowwire/client/engine";
//   const engine = new EngineClient("wss://app.example.com/ws/engine", {
//     key: process.env.FLOWWIRE_ENGINE_KEY!, WebSocket, workflows: ["etl"], handler,
//   });
//   await engine.start();
//   await engine.publish({ type: "node.status", workflow_id: "etl", execution_id, node_id: "load", status: "running" });
//
// It holds one WebSocket to `…/engine` (the server's `engine_key` as a Bearer header)
// and keeps it: after a drop it reconnects with backoff, claims again the executions
// it runs, and sends again every publish not yet acknowledged with its first
// idempotency key, so that nothing is lost or stored twice.
import {
  SUBPROTOCOLS,
  type Control,
  type ControlResult,
  type EngineClaimResult,
  type EngineCommand,
  type EnginePublishResult,
  type ErrorCode,
  type Execute,
  type ExecuteResult,
  type Input,
  type InputResult,
  type JsonValue,
  type ServerFrame,
  type StreamEvent,
} from "./protocol.js";

/** What the engine client uses of a WebSocket: `ws` fits (the browser's cannot send the
 * engine key, which goes in a header). */

/** A user's `control` as its engine gets it: the server has resolved a `workflow_id` to the
 * execution, so `execution_id` is always there. */
export type EngineControl = Control & { execution_id: string };
/** A user's `input` as its engine gets it (`execution_id` resolved, as for `control`). */
export type EngineInput = Input & { execution_id: string };
export interface EngineSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}
export type EngineSocketConstructor = new (
  url: string,
  protocols: string[],
  options: { headers: Record<string, string> },
) => EngineSocket;

/** An event to publish: the server fills in `seq` and `ts` (and `topic`, by default). */
export type EventToPublish = StreamEvent extends infer E
  ? E extends StreamEvent
    ? Omit<E, "topic" | "seq" | "ts"> & { topic?: string }
    : never
  : never;

/** Who sent a command, as the server shows the engine. */
export interface CommandContext {
  readonly principal: JsonValue;
}

/** Your engine: each method answers one kind of user command. Throw `EngineError` for an
 * error the user should see; any other exception answers `internal`. */
export interface EngineHandler {
  execute?(command: Execute, context: CommandContext): Promise<ExecuteResult> | ExecuteResult;
  control?(command: EngineControl, context: CommandContext): Promise<ControlResult> | ControlResult;
  input?(command: EngineInput, context: CommandContext): Promise<InputResult> | InputResult;
}

/** An error the user gets as the command's `error` frame. */
export class EngineError extends Error {
  override readonly name = "EngineError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

export interface EngineOptions {
  /** The server's `engine_key`. */
  key: string;
  /** The WebSocket class: `ws`'s default export. */
  WebSocket: EngineSocketConstructor;
  handler?: EngineHandler;
  /** The workflow ids whose `execute` commands this engine takes. */
  workflows?: string[];
  /** The first delay before reconnecting (doubled per failed attempt up to `maxReconnectMs`). */
  reconnectMs?: number;
  maxReconnectMs?: number;
  /** Called with every frame sent or received (logging, contract checks). */
  onFrame?: (direction: "sent" | "received", data: string) => void;
}

interface Pending {
  frame: { type: string; ref: string } & Record<string, unknown>;
  resolve(data: Record<string, JsonValue>): void;
  reject(error: Error): void;
}

const timers = globalThis as unknown as { setTimeout(callback: () => void, ms: number): unknown };
const TERMINAL = new Set(["execution.completed", "execution.failed", "execution.stopped"]);
const OPEN = 1;

let counter = 0;
const nextId = (): string => `${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

export class EngineClient {
  /** The executions this engine runs (claimed again after each reconnect). */
  readonly live = new Set<string>();
  /** How many times it connected. */
  connections = 0;
  private socket: EngineSocket | null = null;
  private readonly pending = new Map<string, Pending>();
  private readonly answering = new Set<Promise<void>>();
  private closed = false;
  private delay: number;

  constructor(
    readonly url: string,
    private readonly options: EngineOptions,
  ) {
    this.delay = options.reconnectMs ?? 250;
  }

  /** Connect; resolves once the server sends this engine its workflows' `execute`s. */
  async start(): Promise<void> {
    await this.connect();
  }

  /** Disconnect for good, after answering the commands under way; unanswered publishes fail. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.answering); // the users waiting for them get their answers
    this.socket?.close(1000, "engine closed");
    for (const pending of this.pending.values()) pending.reject(new Error("the engine client was closed"));
    this.pending.clear();
  }

  /** Publish an event (validated by the server like `POST publish`): where it was stored. */
  async publish(event: EventToPublish, idempotencyKey: string = nextId()): Promise<EnginePublishResult> {
    const terminal = TERMINAL.has(event.type);
    if (!terminal) this.live.add(event.execution_id);
    const data = await this.request({ type: "engine.publish", ref: nextId(), event: event as unknown as JsonValue, idempotency_key: idempotencyKey });
    if (terminal) this.live.delete(event.execution_id);
    return data as unknown as EnginePublishResult;
  }

  /** Tell the server this engine runs these executions (their commands come here). */
  async claim(...executions: string[]): Promise<EngineClaimResult> {
    for (const id of executions) this.live.add(id);
    const result = (await this.request({ type: "engine.claim", ref: nextId(), executions })) as unknown as EngineClaimResult;
    for (const id of result.lost) this.live.delete(id);
    return result;
  }

  // -- the connection --------------------------------------------------------------------

  private connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const headers = { authorization: `Bearer ${this.options.key}` };
      const socket = new this.options.WebSocket(this.url, [SUBPROTOCOLS[0]], { headers });
      let opened = false;
      socket.onopen = () => {
        opened = true;
        this.socket = socket;
        this.connections += 1;
        this.delay = this.options.reconnectMs ?? 250;
        // Who it is first (what it serves and runs), then what it still owes the server.
        const served = this.request({ type: "engine.serve", ref: nextId(), workflows: this.options.workflows ?? [] });
        if (this.live.size) this.claim(...this.live).catch(() => undefined); // `lost` ones are dropped
        for (const pending of this.pending.values()) if (pending.frame.type === "engine.publish") this.send(pending.frame);
        served.then(() => resolve(), reject);
      };
      socket.onmessage = (event: { data: unknown }) => this.received(String(event.data));
      socket.onerror = () => undefined; // the close that follows says it
      socket.onclose = () => {
        if (this.socket === socket) this.socket = null;
        if (!opened) reject(new Error(`cannot connect the engine to ${this.url}`));
        if (!this.closed && opened) this.reconnect();
      };
    });
  }

  private reconnect(): void {
    const wait = this.delay * (0.5 + Math.random());
    this.delay = Math.min(this.delay * 2, this.options.maxReconnectMs ?? 5_000);
    timers.setTimeout(() => {
      if (this.closed) return;
      this.connect().catch(() => this.reconnect());
    }, wait);
  }

  private send(frame: object): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return; // sent again after the reconnect
    const data = JSON.stringify(frame);
    this.options.onFrame?.("sent", data);
    socket.send(data);
  }

  private request(frame: Pending["frame"]): Promise<Record<string, JsonValue>> {
    return new Promise((resolve, reject) => {
      this.pending.set(frame.ref, { frame, resolve, reject });
      this.send(frame);
    });
  }

  private received(data: string): void {
    this.options.onFrame?.("received", data);
    const frame = JSON.parse(data) as ServerFrame;
    switch (frame.type) {
      case "reply":
      case "error": {
        const pending = frame.ref == null ? undefined : this.pending.get(frame.ref);
        if (!pending) return; // the answer to a frame sent twice across a reconnect
        this.pending.delete(frame.ref as string);
        if (frame.type === "reply") pending.resolve(frame.data);
        else pending.reject(new EngineError(frame.code, frame.message, frame.path ?? undefined));
        return;
      }
      case "ping":
        this.send({ type: "pong", ts: frame.ts });
        return;
      case "engine.command": {
        const answering = this.answer(frame);
        this.answering.add(answering);
        void answering.finally(() => this.answering.delete(answering));
        return;
      }
      case "goaway":
        this.socket?.close(1000, "goaway");
        return;
      default:
        return;
    }
  }

  private async answer(frame: EngineCommand): Promise<void> {
    try {
      const data = await this.run(frame);
      this.send({ type: "engine.result", id: frame.id, data });
    } catch (error) {
      const failure =
        error instanceof EngineError
          ? { code: error.code, message: error.message, ...(error.path ? { path: error.path } : {}) }
          : { code: "internal", message: "the engine failed" };
      this.send({ type: "engine.result", id: frame.id, error: failure });
    }
  }

  private async run(frame: EngineCommand): Promise<object> {
    const handler = this.options.handler ?? {};
    const context: CommandContext = { principal: frame.principal ?? null };
    const command = frame.command as unknown as Execute | EngineControl | EngineInput;
    if (command.type === "execute" && handler.execute) {
      const result = await handler.execute(command, context);
      this.live.add(result.execution_id);
      return result;
    }
    if (command.type === "control" && handler.control) return handler.control(command, context);
    if (command.type === "input" && handler.input) return handler.input(command, context);
    throw new EngineError("not_found", `this engine takes no \`${command.type}\` commands`);
  }
}
