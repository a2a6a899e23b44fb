export {
  FlowwireClient,
  type ClientEventMap,
  type ClientOptions,
  type ClientStats,
  type Command,
  type ConnectionState,
  type ErrorContext,
  type RequestOptions,
  type ResetEvent,
  type ResultOf,
  type Status,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./client.js";
export { FlowwireError, type FlowwireErrorCode } from "./errors.js";
export {
  ExecutionStore,
  fromSnapshot,
  reduce,
  toSnapshot,
  type ExecutionView,
  type NodeView,
  type StoreOptions,
  type WaitingInput,
} from "./store.js";
// The wire types, generated from the server's Structs (schemas/flowwire.ts).
export * from "./protocol.js";
