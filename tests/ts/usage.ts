// Compiled by the test suite with `tsc --strict --noEmit`: the generated types must
// support what a frontend writes against them.
import {
  CLIENT_FRAME_TYPES,
  CloseCode,
  SERVER_FRAME_TYPES,
  SUBPROTOCOLS,
  isErrorFrame,
  isExecutionSnapshot,
  isNodeStatus,
  isNodeToken,
  isStreamEvent,
  isWelcome,
  type ClientFrame,
  type ExecutionSnapshot,
  type NodeStatusValue,
  type ServerFrame,
  type StreamEvent,
  type Subscribe,
  type SubscribeResult,
} from "../../schemas/flowwire";

const statuses = new Map<string, NodeStatusValue>();
let text = "";
let lastSeq = 0;

function render(snapshot: ExecutionSnapshot): void {
  for (const [id, node] of Object.entries(snapshot.nodes)) statuses.set(id, node.status);
  lastSeq = snapshot.last_seq;
}

function exhaustive(frame: StreamEvent): string {
  switch (frame.type) {
    case "execution.started":
      return frame.nodes.map((n) => n.id).join(",");
    case "node.status":
      return frame.status;
    case "node.token":
      return frame.delta;
    case "execution.progress":
      return `${frame.percent}%`;
    default:
      return frame.type;
  }
}

export function onMessage(data: string): ClientFrame | undefined {
  const frame = JSON.parse(data) as ServerFrame;
  if (isWelcome(frame)) {
    const subscribe: Subscribe = { type: "subscribe", ref: "s1", topics: ["workflow:1"] };
    return subscribe;
  }
  if (isErrorFrame(frame)) console.error(frame.code, frame.path ?? "$", frame.message);
  if (isExecutionSnapshot(frame)) render(frame);
  if (isNodeStatus(frame)) statuses.set(frame.node_id, frame.status);
  if (isNodeToken(frame)) text += frame.delta;
  if (isStreamEvent(frame)) {
    lastSeq = frame.seq;
    exhaustive(frame);
  }
  if (frame.type === "reply" && frame.ref === "s1") {
    const result = frame.data as unknown as SubscribeResult;
    for (const [topic, pos] of Object.entries(result.topics)) console.log(topic, pos.epoch, pos.seq);
  }
  if (frame.type === "ping") return { type: "pong", ts: frame.ts };
  return undefined;
}

const closeReason: Record<number, string> = { [CloseCode.SLOW_CONSUMER]: "slow consumer" };
const everything: readonly string[] = [...SERVER_FRAME_TYPES, ...CLIENT_FRAME_TYPES, ...SUBPROTOCOLS];
console.log(closeReason, everything.length, statuses.size, text, lastSeq);
