// Reference system 000 (../shared/seeds/000_56d2b18207f6daa6.txt): its documented client
// code, verbatim where the document gives it whole (comments as the damaged document has
// them): the message types, the WebSocket client, the React component. Lines marked
// [completed] fill in what the document elides. The test substitutes the server address.
import { createElement, useEffect, useState } from 'react';

// 消�基础结�
interface BaseMessage {
  id: string;
  type: MessageType;
  timestamp: number;
  workflowId: string;
}

// 消�类��举
enum MessageType {
  // 执行�制
  WORKFLOW_START = 'workflow.start',
  WORKFLOW_PAUSE = 'workflow.pause',
  WORKFLOW_RESUME = 'workflow.resume',
  WORKFLOW_STOP = 'workflow.stop',
  
  // 节点状�
  NODE_PENDING = 'node.pending',
  NODE_RUNNING = 'node.running',
  NODE_SUCCESS = 'node.success',
  NODE_ERROR = 'node.error',
  NODE_SKIPPED = 'node.skipped',
  
  // 执行状�
  EXECUTION_PROGRESS = 'execution.progress',
  EXECUTION_LOG = 'execution.log',
  EXECUTION_COMPLETE = 'execution.complete',
  EXECUTION_ERROR = 'execution.error',
  
  // 系统状�
  SYSTEM_STATUS = 'system.status',
  HEARTBEAT = 'heartbeat'
}



class WorkflowWebSocketClient {
  private ws: WebSocket | null = null;
  private reconnectAttempts = 0;
  private maxReconnectAttempts = 5;
  private eventHandlers: Map<MessageType, Function[]> = new Map();
  
  connect(url: string) {
    this.url = url; // [completed: attemptReconnect needs it]
    this.ws = new WebSocket(url);
    
    this.ws.onopen = () => {
      console.log('WebSocket ��已建立');
      this.reconnectAttempts = 0;
    };
    
    this.ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      this.handleMessage(message);
    };
    
    this.ws.onclose = () => {
      console.log('WebSocket ��已关�');
      this.attemptReconnect();
    };
    
    this.ws.onerror = (error) => {
      console.error('WebSocket 错误:', error);
    };
  }
  
  private handleMessage(message: any) {
    const handlers = this.eventHandlers.get(message.type) || [];
    handlers.forEach(handler => handler(message));
  }
  
  on(messageType: MessageType, handler: Function) {
    if (!this.eventHandlers.has(messageType)) {
      this.eventHandlers.set(messageType, []);
    }
    this.eventHandlers.get(messageType)!.push(handler);
  }
  
  send(message: any) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
    }
  }

  // [completed: the document elides these two; reconnect on every close, up to
  // maxReconnectAttempts, as its fields say, and a disconnect that stops for good]
  private url = '';

  private attemptReconnect() {
    if (this.reconnectAttempts >= this.maxReconnectAttempts) return;
    this.reconnectAttempts++;
    setTimeout(() => this.connect(this.url), 300 * this.reconnectAttempts);
  }

  disconnect() {
    this.maxReconnectAttempts = 0;
    this.ws?.close();
  }
}

// 在主�的工作�组件�集� WebSocket
function WorkflowCanvas() {
  const [wsClient] = useState(() => new WorkflowWebSocketClient());
  const [nodeStatuses, setNodeStatuses] = useState<Map<string, NodeStatus>>(new Map());
  const [executionLogs, setExecutionLogs] = useState<ExecutionLogEntry[]>([]);
  
  useEffect(() => {
    // �� WebSocket
    wsClient.connect('ws://localhost:8080');
    
    // 监�节点状�更新
    wsClient.on(MessageType.NODE_RUNNING, (message: NodeStatusMessage) => {
      setNodeStatuses(prev => new Map(prev.set(message.payload.nodeId, message.payload.status)));
    });
    
    // 监�执行日志
    wsClient.on(MessageType.EXECUTION_LOG, (message: ExecutionLogMessage) => {
      setExecutionLogs(prev => [...prev, {
        id: message.id,
        timestamp: new Date(message.timestamp),
        level: message.payload.level,
        message: message.payload.message,
        nodeId: message.payload.nodeId
      }]);
    });
    
    return () => {
      wsClient.disconnect();
    };
  }, []);
  
  // 组件渲染逻辑...
  // [completed: the elided rendering, as plainly as it can be: statuses, then the log]
  return createElement('ul', null,
    ...[...nodeStatuses].map(([id, status]) => createElement('li', { key: id, className: 'node' }, `${id}:${status}`)),
    ...executionLogs.map((log) => createElement('li', { key: log.id, className: 'log' }, `${log.level}:${log.message}`)),
  );
}


export { MessageType, WorkflowCanvas, WorkflowWebSocketClient };
