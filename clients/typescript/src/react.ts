import {
  createContext,
  createElement,
  useContext,
  useEffect,
  useRef,
  useSyncExternalStore,
  type ReactNode,
} from "react";
import type { ClientEventMap, ConnectionState, FlowwireClient } from "./client.js";
import type { ExecutionStore, ExecutionView } from "./store.js";

export interface Flowwire {
  readonly client: FlowwireClient;
  readonly store: ExecutionStore;
}

const FlowwireContext = createContext<Flowwire | null>(null);

export interface FlowwireProviderProps {
  /** The one client (one WebSocket) every component below shares. */
  client: FlowwireClient;
  /** The store folded from that client: `new ExecutionStore(client)`. */
  store: ExecutionStore;
  children?: ReactNode;
}

/** Shares one client and its execution store with the components below. Create both
 * once, outside components, so that a re-render never opens another socket. */
export function FlowwireProvider({ client, store, children }: FlowwireProviderProps): ReactNode {
  const value = useRef<Flowwire | null>(null);
  if (value.current?.client !== client || value.current.store !== store) value.current = { client, store };
  return createElement(FlowwireContext.Provider, { value: value.current }, children);
}

/** The provider's client and store. */
export function useFlowwire(): Flowwire {
  const flowwire = useContext(FlowwireContext);
  if (!flowwire) throw new Error("useFlowwire: no <FlowwireProvider> above this component");
  return flowwire;
}

/** The connection's state (status, attempt, last close code); re-renders on change. */
export function useConnectionStatus(): ConnectionState {
  const { client } = useFlowwire();
  return useSyncExternalStore(
    (onChange) => client.onStatus(onChange),
    () => client.connection,
  );
}

/** One execution's state; re-renders when it changes. */
export function useExecution(executionId: string | null | undefined): ExecutionView | undefined {
  const { store } = useFlowwire();
  return useSyncExternalStore(store.subscribe, () => (executionId ? store.get(executionId) : undefined));
}

/** Every execution the store holds, running and recently finished. */
export function useExecutions(): readonly ExecutionView[] {
  const { store } = useFlowwire();
  return useSyncExternalStore(store.subscribe, () => store.list());
}

/** Call `handler` for each event of `type` while the component is mounted (the latest
 * handler is called: no need to memoize it). */
export function useEvents<K extends keyof ClientEventMap>(type: K, handler: (event: ClientEventMap[K]) => void): void {
  const { client } = useFlowwire();
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => client.on(type, (event) => latest.current(event)), [client, type]);
}
