// Reference system 001 (../shared/seeds/001_1ff99176f6d5bfe0.txt): its document gives the
// API of its client (websocket.ts) and hook (useWebSocket.ts), their settings and their
// behaviour, not their code. Completed here minimally and faithfully from what it states:
// one global client; `subscribe(event, handler)` returns the unsubscribe function; a
// handler's error harms no other; a heartbeat every 30 s; reconnect after a drop with
// delay = min(1000 * 2^attempts, 10000), at most 5 attempts; `useWebSocket` subscribes
// onSessionUpdate, onTaskUpdate, onProgress, onError, onMessage and unsubscribes on unmount.
// Documented verbatim: the names below, `WS_URL`, `maxReconnectAttempts`,
// `heartbeatInterval`, and the handlers' use in its pages (`data.data?.status`, ...).
import { useEffect } from 'react';

const WS_URL = 'ws://localhost:8000/ws/ws';
const maxReconnectAttempts = 5;
const heartbeatInterval = 30000; // 30 seconds

type WebSocketEventHandler = (message: any) => void;
type ConnectionStatus = 'connected' | 'disconnected' | 'connecting' | 'error';

export class WebSocketClient {
  private ws: WebSocket | null = null;
  private handlers = new Map<string, Set<WebSocketEventHandler>>();
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private reconnectAttempts = 0;
  private manualClose = false;
  private sessionId: string | null = null;
  status: ConnectionStatus = 'disconnected';

  connect(): void {
    this.manualClose = false;
    this.status = 'connecting';
    this.ws = new WebSocket(WS_URL);
    this.ws.onopen = () => {
      this.status = 'connected';
      this.reconnectAttempts = 0;
      this.startHeartbeat();
      this.dispatch('open', {});
    };
    this.ws.onmessage = (event) => {
      let message: any;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        console.error('WebSocket message parse error:', error); // 消息解析错误仅打印日志
        return;
      }
      if (message.session_id) this.sessionId = message.session_id;
      this.dispatch(message.event, message);
      this.dispatch('message', message);
    };
    this.ws.onerror = () => {
      this.status = 'error';
    };
    this.ws.onclose = () => {
      this.stopHeartbeat();
      this.status = 'disconnected';
      this.dispatch('close', {});
      if (!this.manualClose) this.scheduleReconnect();
    };
  }

  disconnect(): void {
    this.manualClose = true;
    this.stopHeartbeat();
    this.ws?.close();
  }

  send(data: any): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(data));
    return true;
  }

  subscribe(event: string, handler: WebSocketEventHandler): () => void {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)!.add(handler);
    return () => this.handlers.get(event)?.delete(handler);
  }

  getSessionId(): string | null {
    return this.sessionId;
  }

  private dispatch(event: string, message: any): void {
    for (const handler of this.handlers.get(event) ?? []) {
      try {
        handler(message);
      } catch (error) {
        console.error('WebSocket handler error:', error); // 事件处理器错误不影响其他处理器
      }
    }
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => this.send({ type: 'ping' }), heartbeatInterval);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private scheduleReconnect(): void {
    if (this.reconnectAttempts >= maxReconnectAttempts) {
      this.status = 'error';
      return;
    }
    const delay = Math.min(1000 * 2 ** this.reconnectAttempts, 10000);
    this.reconnectAttempts++;
    setTimeout(() => this.connect(), delay);
  }
}

let client: WebSocketClient | null = null;

export function getWebSocketClient(): WebSocketClient {
  if (!client) client = new WebSocketClient();
  return client;
}

interface UseWebSocketOptions {
  onSessionUpdate?: (data: any) => void;
  onTaskUpdate?: (data: any) => void;
  onProgress?: (data: any) => void;
  onError?: (data: any) => void;
  onMessage?: (data: any) => void;
  autoConnect?: boolean;  // 默认 true
}

export function useWebSocket(options: UseWebSocketOptions): void {
  useEffect(() => {
    const ws = getWebSocketClient();
    const off = [
      options.onSessionUpdate && ws.subscribe('session.update', options.onSessionUpdate),
      options.onTaskUpdate && ws.subscribe('task.update', options.onTaskUpdate),
      options.onProgress && ws.subscribe('progress.update', options.onProgress),
      options.onError && ws.subscribe('error', options.onError),
      options.onMessage && ws.subscribe('message', options.onMessage),
    ];
    if (options.autoConnect !== false && ws.status === 'disconnected') ws.connect();
    return () => off.forEach((unsubscribe) => unsubscribe && unsubscribe());
  }, []);
}
