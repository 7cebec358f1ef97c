// GET /services/{id}/logs and /tasks/{id}/logs through app.inject(), with a backend whose log
// broker is scripted: what the route asks the broker for, how it frames and prefixes lines as
// dockerd does, and what it refuses before the stream starts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goQueryEscape, parseSince, parseTail, rfc3339NanoFixed } from '../../../manager/api/routes/logs.js';
import { FrameDecoder } from '../../../shared/log-frames.js';
import type { ClusterBackend } from '../../../manager/api/backend.js';
import type { LogRecord, SubscribeLogsRequest } from '../../../shared/log-protocol.js';
import { IDS, call, startApi } from './api-harness.js';

async function* batches(records: LogRecord[][]): AsyncGenerator<LogRecord[]> {
  for (const batch of records) yield batch;
}

async function fixture(tty = false) {
  const api = await startApi();
  let serviceId = '';
  let taskId = '';
  await api.store.update((tx) => {
    serviceId = tx.create('service', { Spec: { Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'busybox', TTY: tty } } } }).ID;
    taskId = tx.create('task', {
      ServiceID: serviceId, Slot: 1, NodeID: IDS.worker1, DesiredState: 'running', Status: { State: 'running' },
      Spec: { ContainerSpec: { Image: 'busybox', TTY: tty } },
    }).ID;
  });
  const asked: SubscribeLogsRequest[] = [];
  const context = { nodeId: IDS.worker1, serviceId, taskId };
  const backend: ClusterBackend = api.backend;
  backend.logs = async (request) => {
    asked.push(request);
    return batches([
      [{ context, time: '2026-11-22T13:15:50.266Z', stream: 'stdout', line: 'tick 1' }],
      [{ context, time: '2026-11-22T13:15:51Z', stream: 'stderr', line: 'oops' }, { context, time: '2026-11-22T13:15:52.1Z', stream: 'stdout', line: '' }],
    ]);
  };
  return { ...api, serviceId, taskId, asked };
}

function frames(raw: Buffer): [string, string][] {
  return new FrameDecoder().push(raw).map((f) => [f.stream, f.payload.toString()]);
}

describe('GET /services/{id}/logs and /tasks/{id}/logs', () => {
  it('streams multiplexed frames, one line each, with the details and times dockerd puts first', async () => {
    const { app, serviceId, taskId, asked } = await fixture();
    const res = await call(app, { url: '/v1.41/services/web/logs?details=1&stderr=1&stdout=1&tail=all' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
    assert.equal(res.headers['api-version'], '1.41');
    const details = `com.docker.swarm.node.id=${IDS.worker1},com.docker.swarm.service.id=${serviceId},com.docker.swarm.task.id=${taskId}`;
    assert.deepEqual(frames(res.rawPayload), [['stdout', `${details} tick 1\n`], ['stderr', `${details} oops\n`], ['stdout', `${details} \n`]]);
    assert.deepEqual(asked[0], { selector: { serviceIds: [serviceId], taskIds: [] }, options: { follow: false, tail: undefined, sinceMs: undefined, stdout: true, stderr: true } });

    const stamped = await call(app, { url: `/v1.41/tasks/${taskId}/logs?stdout=1&follow=1&tail=3&since=1795353169.5&timestamps=1` });
    assert.deepEqual(frames(stamped.rawPayload), [
      ['stdout', '2026-11-22T13:15:50.266000000Z tick 1\n'], ['stderr', '2026-11-22T13:15:51.000000000Z oops\n'], ['stdout', '2026-11-22T13:15:52.100000000Z \n'],
    ]);
    assert.deepEqual(asked[1], { selector: { serviceIds: [], taskIds: [taskId] }, options: { follow: true, tail: 3, sinceMs: 1_795_353_169_500, stdout: true, stderr: false } });
  });

  it('sends a TTY service\'s lines unframed', async () => {
    const { app } = await fixture(true);
    const res = await call(app, { url: '/v1.41/services/web/logs?stdout=1&stderr=1' });
    assert.equal(res.headers['content-type'], 'application/vnd.docker.raw-stream');
    assert.equal(res.body, 'tick 1\noops\n\n');
  });

  it('refuses what it cannot serve before the stream starts, with dockerd\'s messages', async () => {
    const { app, backend } = await fixture();
    const refusal = async (url: string): Promise<[number, string]> => {
      const res = await call(app, { url });
      assert.equal(res.headers['content-type'], 'application/json');
      return [res.statusCode, res.json().message];
    };
    assert.deepEqual(await refusal('/v1.41/services/web/logs'), [400, 'Bad parameters: you must choose at least one stream']);
    assert.deepEqual(await refusal('/v1.41/services/nosuch/logs?stdout=1'), [404, 'service nosuch not found']);
    assert.deepEqual(await refusal('/v1.41/tasks/nosuch/logs?stdout=1'), [404, 'task nosuch not found']);
    assert.deepEqual(await refusal('/v1.41/services/web/logs?stdout=1&tail=-1'), [400, 'negative tail values not supported']);
    assert.deepEqual(await refusal('/v1.41/services/web/logs?stdout=1&tail=x'), [400, 'tail value must be a positive integer or "all"']);
    assert.match((await refusal('/v1.41/services/web/logs?stdout=1&since=soon'))[1], /^could not parse since timestamp/);
    assert.equal((await refusal('/v1.41/services/web/logs?stdout=maybe'))[0], 400);
    (backend as ClusterBackend).logs = undefined;
    assert.equal((await refusal('/v1.41/services/web/logs?stdout=1'))[0], 400);
    backend.becomeWorker();
    assert.equal((await refusal('/v1.41/services/web/logs?stdout=1'))[0], 503);
  });

  it('reads tail and since as dockerd and the docker CLI spell them', () => {
    assert.equal(parseTail(undefined), undefined);
    assert.equal(parseTail('all'), undefined);
    assert.equal(parseTail('0'), 0);
    assert.equal(parseTail('25'), 25);
    assert.equal(parseSince(undefined), undefined);
    assert.equal(parseSince('0'), undefined);
    assert.equal(parseSince('1795353169'), 1_795_353_169_000);
    assert.equal(parseSince('1795353169.000000001'), 1_795_353_169_000);
    assert.equal(parseSince('1795353169.123456789'), 1_795_353_169_123);
    assert.equal(parseSince('2026-11-22T13:15:50.5Z'), Date.parse('2026-11-22T13:15:50.500Z'));
    assert.equal(parseSince('2026-11-22T14:15:50+01:00'), Date.parse('2026-11-22T13:15:50Z'));
    assert.equal(rfc3339NanoFixed('2026-11-22T13:15:50Z'), '2026-11-22T13:15:50.000000000Z');
    assert.equal(rfc3339NanoFixed('2026-11-22T13:15:50.123456789123Z'), '2026-11-22T13:15:50.123456789Z');
    assert.equal(rfc3339NanoFixed('2026-11-22T14:15:50.25+01:00'), '2026-11-22T13:15:50.250000000Z');
    assert.equal(goQueryEscape('a b/c=d,é'), 'a+b%2Fc%3Dd%2C%C3%A9');
  });
});
