// The React bindings under the same strict options (no JSX needed).
import { createElement, type ReactNode } from "react";
import { ExecutionStore, FlowwireClient } from "@flowwire/client";
import { FlowwireProvider, useConnectionStatus, useEvents, useExecution, useExecutions } from "@flowwire/client/react";

const client = new FlowwireClient("wss://example.com/ws");
const store = new ExecutionStore(client);

function Run({ id }: { id: string }): ReactNode {
  const run = useExecution(id);
  const { status, attempt } = useConnectionStatus();
  useEvents("node.token", (event) => void event.delta);
  // @ts-expect-error: execution.log events have no node status
  useEvents("execution.log", (event) => void event.status);
  return createElement("p", null, `${run?.status ?? "…"} ${status} ${attempt} ${useExecutions().length}`);
}

export const app = createElement(FlowwireProvider, { client, store }, createElement(Run, { id: "ex-1" }));
