// Reference system 004 (../shared/seeds/004_ec16e2e9e222350e.txt, "React/TypeScript"):
// its documented hook, verbatim (Korean comments as the damaged document has them). The
// test serves it over the `type-data` profile; the only change is the one its own
// document asks for: the address of the server (`ws://localhost:8000`), substituted by
// the test when it loads this file.
import { useEffect, useState } from 'react';

interface NodeStatus {
  [nodeId: string]: {
    status: 'pending' | 'running' | 'completed' | 'error';
    result?: any;
    error?: string;
  };
}

interface EdgeFlow {
  sourceNodeId: string;
  targetNodeId: string;
  timestamp: string;
}

export const useWorkflowWebSocket = (workflowId: string) => {
  const [nodeStatuses, setNodeStatuses] = useState<NodeStatus>({});
  const [edgeFlows, setEdgeFlows] = useState<EdgeFlow[]>([]);
  const [progress, setProgress] = useState<number>(0);
  const [isConnected, setIsConnected] = useState(false);

  useEffect(() => {
    const ws = new WebSocket(`ws://localhost:8000/api/ws/workflow/${workflowId}`);

    ws.onopen = () => {
      console.log('WebSocket connected');
      setIsConnected(true);
      
      // Heartbeat: 주기�으로 ping 전송
      const interval = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) {
          ws.send('ping');
        }
      }, 30000); // 30초마다

      return () => clearInterval(interval);
    };

    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      
      switch (message.type) {
        case 'workflow_start':
          console.log('Workflow started:', message.data);
          // 모든 노드를 pending �태로 초기화
          const initialStatuses: NodeStatus = {};
          message.data.execution_order.forEach((nodeId: string) => {
            initialStatuses[nodeId] = { status: 'pending' };
          });
          setNodeStatuses(initialStatuses);
          setEdgeFlows([]);
          setProgress(0);
          break;

        case 'workflow_complete':
          console.log('Workflow completed:', message.data);
          setProgress(100);
          break;

        case 'node_status':
          console.log('Node status changed:', message.data);
          setNodeStatuses(prev => ({
            ...prev,
            [message.data.node_id]: {
              status: message.data.status,
              result: message.data.result,
              error: message.data.error,
            }
          }));
          break;

        case 'edge_flow':
          console.log('Edge flow:', message.data);
          setEdgeFlows(prev => [...prev, {
            sourceNodeId: message.data.source_node_id,
            targetNodeId: message.data.target_node_id,
            timestamp: message.timestamp,
          }]);
          
          // 애니메�션 후 제거 (3초 후)
          setTimeout(() => {
            setEdgeFlows(prev => prev.filter(
              flow => flow.timestamp !== message.timestamp
            ));
          }, 3000);
          break;

        case 'progress':
          console.log('Progress:', message.data);
          setProgress(message.data.progress);
          break;

        case 'error':
          console.error('Workflow error:', message.data);
          break;

        case 'pong':
          // Heartbeat �답
          console.log('pong received');
          break;
      }
    };

    ws.onerror = (error) => {
      console.error('WebSocket error:', error);
    };

    ws.onclose = () => {
      console.log('WebSocket disconnected');
      setIsConnected(false);
    };

    return () => {
      ws.close();
    };
  }, [workflowId]);

  return { nodeStatuses, edgeFlows, progress, isConnected };
};
