// The labels a task's container carries: Swarm's own (so tools written for Swarm — `docker ps
// --filter label=com.docker.swarm.service.name=web`, log shippers, monitoring — work unchanged)
// plus Berth's marker. They are also the executor's only record: a restarted agent finds its
// containers by them and rebuilds enough of each task from them to take it over.

import type { ExecutorTask } from '../executor.js';

export const LABEL_NODE_ID = 'com.docker.swarm.node.id';
export const LABEL_SERVICE_ID = 'com.docker.swarm.service.id';
export const LABEL_SERVICE_NAME = 'com.docker.swarm.service.name';
/** Present (empty) on every Swarm task container: "this container is a task". */
export const LABEL_TASK = 'com.docker.swarm.task';
export const LABEL_TASK_ID = 'com.docker.swarm.task.id';
export const LABEL_TASK_NAME = 'com.docker.swarm.task.name';
/** Berth's own marker: a Swarm-mode dockerd on the same host labels its containers the same way, but never with this. */
export const LABEL_BERTH_MANAGED = 'com.berth.managed';

export const SYSTEM_LABELS = [LABEL_NODE_ID, LABEL_SERVICE_ID, LABEL_SERVICE_NAME, LABEL_TASK, LABEL_TASK_ID, LABEL_TASK_NAME, LABEL_BERTH_MANAGED];

export interface TaskIdentity {
  taskId: string;
  taskName: string;
  serviceId: string;
  serviceName: string;
  nodeId: string;
}

export function systemLabels(identity: TaskIdentity): Record<string, string> {
  return {
    [LABEL_NODE_ID]: identity.nodeId,
    [LABEL_SERVICE_ID]: identity.serviceId,
    [LABEL_SERVICE_NAME]: identity.serviceName,
    [LABEL_TASK]: '',
    [LABEL_TASK_ID]: identity.taskId,
    [LABEL_TASK_NAME]: identity.taskName,
    [LABEL_BERTH_MANAGED]: 'true',
  };
}

/** Docker's label filters for this node's task containers (optionally one task's). */
export function containerFilters(nodeId: string, taskId?: string): { label: string[] } {
  const label = [`${LABEL_NODE_ID}=${nodeId}`, `${LABEL_BERTH_MANAGED}=true`];
  label.push(taskId === undefined ? LABEL_TASK_ID : `${LABEL_TASK_ID}=${taskId}`);
  return { label };
}

/**
 * The task an adopted container runs, as far as its labels tell: ID, service, name, slot (the
 * middle of `<service>.<slot>.<id>`; absent for global tasks, whose middle is the node ID) and
 * node. The spec holds the image and the user's labels only; the agent passes the full task when
 * it asks for the controller again.
 */
export function taskFromLabels(labels: Record<string, string>, image?: string): ExecutorTask {
  const id = labels[LABEL_TASK_ID];
  const name = labels[LABEL_TASK_NAME] || undefined;
  let slot: number | undefined;
  if (name?.endsWith(`.${id}`)) {
    const head = name.slice(0, -(id.length + 1));
    const middle = head.slice(head.lastIndexOf('.') + 1);
    if (/^[1-9]\d*$/.test(middle)) slot = Number(middle);
  }
  const userLabels = Object.fromEntries(Object.entries(labels).filter(([key]) => !SYSTEM_LABELS.includes(key)));
  return {
    ID: id,
    ServiceID: labels[LABEL_SERVICE_ID] || undefined,
    Name: name,
    Slot: slot,
    NodeID: labels[LABEL_NODE_ID] || undefined,
    ServiceAnnotations: labels[LABEL_SERVICE_NAME] ? { Name: labels[LABEL_SERVICE_NAME] } : undefined,
    Spec: { ContainerSpec: { Image: image, Labels: userLabels } },
  };
}
