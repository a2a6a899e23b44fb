import type { ErrorCode, ErrorFrame } from "./protocol.js";

/**
 * Why a command failed: the server's `error` frame (`code`, `message`, `path`), or one of
 * the client's own reasons:
 * - `timeout`: no answer within the command's timeout (it may never have been sent);
 * - `disconnected`: the connection closed after the command was sent, before its answer
 *   (an `execute` may or may not have started);
 * - `queue_full`: too many commands waiting for a connection;
 * - `closed`: the client was closed, or gave up reconnecting.
 */
export type FlowwireErrorCode = ErrorCode | "timeout" | "disconnected" | "queue_full" | "closed";

export class FlowwireError extends Error {
  override readonly name = "FlowwireError";
  readonly code: FlowwireErrorCode;
  /** JSON path of the offending field of the command, from the server: `$.topics[2]`. */
  readonly path: string | undefined;
  /** With `rate_limited`: wait this long before retrying. */
  readonly retryAfterMs: number | undefined;
  /** The command's `ref`, when it had one. */
  readonly ref: string | undefined;

  constructor(
    code: FlowwireErrorCode,
    message: string,
    details: { path?: string | null | undefined; retryAfterMs?: number | null | undefined; ref?: string | null | undefined } = {},
  ) {
    super(message);
    this.code = code;
    this.path = details.path ?? undefined;
    this.retryAfterMs = details.retryAfterMs ?? undefined;
    this.ref = details.ref ?? undefined;
  }

  static fromFrame(frame: ErrorFrame): FlowwireError {
    return new FlowwireError(frame.code, frame.message, {
      path: frame.path,
      retryAfterMs: frame.retry_after_ms,
      ref: frame.ref,
    });
  }
}
