import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Service, Store } from '../../../manager/store/index.js';
import { IDS, call, startApi } from './api-harness.js';

function filtersParam(filters: unknown): string {
  return `filters=${encodeURIComponent(JSON.stringify(filters))}`;
}

/** What `docker service create --name web --replicas 3 -p 8080:8080 … localbusybox:1 httpd -f -p 8080` sent (catalog §5.1). */
const RECORDED_CREATE = {
  Name: 'web',
  Labels: { x: 'y' },
  TaskTemplate: {
    ContainerSpec: { Image: 'localbusybox:1', Args: ['httpd', '-f', '-p', '8080'], Env: ['A=1'], Init: false, DNSConfig: {} },
    Resources: { Limits: { MemoryBytes: 67108864 }, Reservations: { NanoCPUs: 100000000 } },
    RestartPolicy: { Condition: 'on-failure', Delay: 5000000000, MaxAttempts: 0 },
    Placement: { Constraints: ['node.role==manager'] },
    ForceUpdate: 0,
  },
  Mode: { Replicated: { Replicas: 3 } },
  UpdateConfig: { Parallelism: 2, FailureAction: 'pause', Monitor: 5000000000, MaxFailureRatio: 0, Order: 'stop-first' },
  EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 8080, PublishedPort: 8080, PublishMode: 'ingress' }] },
};

/** What dockerd stored and showed with insertDefaults=false for it. */
const RECORDED_STORED_SPEC = {
  ...RECORDED_CREATE,
  TaskTemplate: {
    ...RECORDED_CREATE.TaskTemplate,
    ContainerSpec: { ...RECORDED_CREATE.TaskTemplate.ContainerSpec, Isolation: 'default' },
    Runtime: 'container',
  },
};

/** A minimal spec as `docker service create -d --name <name> localbusybox:1 sleep 3600` sends it. */
function minimal(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Name: name,
    Labels: {},
    TaskTemplate: {
      ContainerSpec: { Image: 'localbusybox:1', Args: ['sleep', '3600'], Init: false, StopGracePeriod: 1000000000, DNSConfig: {} },
      Resources: { Limits: {}, Reservations: {} },
      Placement: {},
      ForceUpdate: 0,
    },
    Mode: { Replicated: {} },
    EndpointSpec: { Mode: 'vip' },
    ...extra,
  };
}

async function create(app: FastifyInstance, spec: unknown): Promise<string> {
  const res = await call(app, { method: 'POST', url: '/v1.41/services/create', body: spec });
  assert.equal(res.statusCode, 201, res.body);
  return (res.json() as { ID: string }).ID;
}

async function inspect(app: FastifyInstance, ref: string, insertDefaults = false): Promise<Record<string, any>> {
  const res = await call(app, { url: `/v1.41/services/${ref}?insertDefaults=${insertDefaults}` });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as Record<string, any>;
}

function stored(store: Store, id: string): Service {
  const service = store.get('service', id);
  assert.ok(service, `service ${id} is in the store`);
  return service as Service;
}

describe('POST /services/create', () => {
  it('answers 201 {"ID"} as dockerd 20.10 does and stores the spec normalised as dockerd stores it', async () => {
    const { app, store } = await startApi();
    const res = await call(app, { method: 'POST', url: '/v1.41/services/create', body: RECORDED_CREATE });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.headers['content-type'], 'application/json');
    const { ID } = res.json() as { ID: string };
    assert.deepEqual(Object.keys(res.json()), ['ID']);
    assert.match(ID, /^[a-z0-9]{25}$/);
    const service = stored(store, ID);
    assert.deepEqual(service.Spec, RECORDED_STORED_SPEC);
    assert.deepEqual(service.Endpoint, {
      Spec: RECORDED_CREATE.EndpointSpec,
      Ports: [{ Protocol: 'tcp', TargetPort: 8080, PublishedPort: 8080, PublishMode: 'ingress' }],
    });
  });

  it('defaults Replicas to 1, EndpointSpec.Mode to vip, Labels, RestartPolicy.Condition and UpdateConfig enums (compose-style specs)', async () => {
    const { app, store } = await startApi();
    const id = await create(app, {
      Name: 'st_web',
      TaskTemplate: { ContainerSpec: { Image: 'localbusybox:1' }, RestartPolicy: { Condition: 'on-failure' } },
      Mode: { Replicated: {} },
      UpdateConfig: { Parallelism: 1, MaxFailureRatio: 0, Order: '' },
      EndpointSpec: { Ports: [{ TargetPort: 8080, PublishedPort: 18080 }] },
    });
    const spec = stored(store, id).Spec;
    assert.deepEqual(spec.Mode, { Replicated: { Replicas: 1 } });
    assert.deepEqual(spec.Labels, {});
    assert.deepEqual(spec.TaskTemplate, {
      ContainerSpec: { Image: 'localbusybox:1', Isolation: 'default' },
      RestartPolicy: { Condition: 'on-failure', MaxAttempts: 0 },
      ForceUpdate: 0,
      Runtime: 'container',
    });
    assert.deepEqual(spec.UpdateConfig, { Parallelism: 1, FailureAction: 'pause', MaxFailureRatio: 0, Order: 'stop-first' });
    assert.deepEqual(spec.EndpointSpec, { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 8080, PublishedPort: 18080, PublishMode: 'ingress' }] });
    const noMode = await create(app, { Name: 'nomode', TaskTemplate: { ContainerSpec: { Image: 'busybox:latest' } } });
    assert.deepEqual(stored(store, noMode).Spec.Mode, { Replicated: { Replicas: 1 } });
    const global = await create(app, minimal('glob', { Mode: { Global: {} } }));
    assert.deepEqual(stored(store, global).Spec.Mode, { Global: {} });
    const job = await create(app, minimal('job', { Mode: { ReplicatedJob: { MaxConcurrent: 2 } } }));
    assert.deepEqual(stored(store, job).Spec.Mode, { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 2 } });
    const zero = await create(app, minimal('zero', { Mode: { Replicated: { Replicas: 0 } } }));
    assert.deepEqual(stored(store, zero).Spec.Mode, { Replicated: { Replicas: 0 } });
  });

  it('refuses a name in use with dockerd’s 409, whatever its case', async () => {
    const { app } = await startApi();
    await create(app, minimal('web'));
    for (const name of ['web', 'WEB']) {
      const res = await call(app, { method: 'POST', url: '/v1.41/services/create', body: minimal(name) });
      assert.equal(res.statusCode, 409);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.deepEqual(res.json(), { message: `rpc error: code = AlreadyExists desc = name conflicts with an existing object: service ${name} already exists` });
    }
  });

  it('refuses each invalid field with a 400 naming it', async () => {
    const { app, store } = await startApi();
    const task = (extra: Record<string, unknown>, container: Record<string, unknown> = {}) => ({
      ContainerSpec: { Image: 'busybox:latest', ...container }, ...extra,
    });
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['no name', { TaskTemplate: task({}) }, /^missing required field Name$/],
      ['empty name', { Name: '', TaskTemplate: task({}) }, /^invalid Name: must be a DNS name component/],
      ['name with a space', { Name: 'my web', TaskTemplate: task({}) }, /^invalid Name: must be a DNS name component/],
      ['name ending in -', { Name: 'web-', TaskTemplate: task({}) }, /^invalid Name: /],
      ['name of 64 characters', { Name: 'a'.repeat(64), TaskTemplate: task({}) }, /^invalid Name: /],
      ['no task template', { Name: 'x' }, /^missing required field TaskTemplate$/],
      ['no image', { Name: 'x', TaskTemplate: { ContainerSpec: {} } }, /^missing required field TaskTemplate\.ContainerSpec\.Image$/],
      ['empty image', { Name: 'x', TaskTemplate: task({}, { Image: '' }) }, /^invalid TaskTemplate\.ContainerSpec\.Image: must be an image reference/],
      ['two modes', { Name: 'x', TaskTemplate: task({}), Mode: { Replicated: { Replicas: 1 }, Global: {} } }, /^invalid Mode: must specify only one service mode/],
      ['negative replicas', { Name: 'x', TaskTemplate: task({}), Mode: { Replicated: { Replicas: -1 } } }, /^invalid Mode\.Replicated\.Replicas: must be a non-negative number of replicas$/],
      ['fractional replicas', { Name: 'x', TaskTemplate: task({}), Mode: { Replicated: { Replicas: 1.5 } } }, /^invalid Mode\.Replicated\.Replicas: /],
      ['restart condition', { Name: 'x', TaskTemplate: task({ RestartPolicy: { Condition: 'always' } }) }, /^invalid TaskTemplate\.RestartPolicy\.Condition: must be one of none, on-failure, any$/],
      ['negative delay', { Name: 'x', TaskTemplate: task({ RestartPolicy: { Delay: -1 } }) }, /^invalid TaskTemplate\.RestartPolicy\.Delay: must be a non-negative duration in nanoseconds/],
      ['string duration', { Name: 'x', TaskTemplate: task({ RestartPolicy: { Window: '5s' } }) }, /^invalid TaskTemplate\.RestartPolicy\.Window: must be a non-negative duration in nanoseconds/],
      ['negative stop grace period', { Name: 'x', TaskTemplate: task({}, { StopGracePeriod: -5 }) }, /^invalid TaskTemplate\.ContainerSpec\.StopGracePeriod: /],
      ['negative NanoCPUs', { Name: 'x', TaskTemplate: task({ Resources: { Limits: { NanoCPUs: -1 } } }) }, /^invalid TaskTemplate\.Resources\.Limits\.NanoCPUs: must be a non-negative integer$/],
      ['negative MemoryBytes', { Name: 'x', TaskTemplate: task({ Resources: { Reservations: { MemoryBytes: -1 } } }) }, /^invalid TaskTemplate\.Resources\.Reservations\.MemoryBytes: /],
      ['tiny memory limit', { Name: 'x', TaskTemplate: task({ Resources: { Limits: { MemoryBytes: 1024 } } }) }, /^invalid TaskTemplate\.Resources\.Limits\.MemoryBytes: invalid memory value 1024: must be at least 4MiB/],
      ['bad constraint', { Name: 'x', TaskTemplate: task({ Placement: { Constraints: ['node.role==manager', 'node.role=manager'] } }) }, /^invalid TaskTemplate\.Placement\.Constraints\[1\]: invalid constraint "node\.role=manager"/],
      ['unknown constraint key', { Name: 'x', TaskTemplate: task({ Placement: { Constraints: ['node.colour==red'] } }) }, /^invalid TaskTemplate\.Placement\.Constraints\[0\]: .*not supported/],
      ['spread without descriptor', { Name: 'x', TaskTemplate: task({ Placement: { Preferences: [{ Spread: {} }] } }) }, /^missing required field TaskTemplate\.Placement\.Preferences\[0\]\.Spread\.SpreadDescriptor$/],
      ['spread over a non-label', { Name: 'x', TaskTemplate: task({ Placement: { Preferences: [{ Spread: { SpreadDescriptor: 'node.id' } }] } }) }, /^invalid TaskTemplate\.Placement\.Preferences\[0\]\.Spread\.SpreadDescriptor: must be node\.labels\.<name>/],
      ['negative MaxReplicas', { Name: 'x', TaskTemplate: task({ Placement: { MaxReplicas: -1 } }) }, /^invalid TaskTemplate\.Placement\.MaxReplicas: /],
      ['failure action', { Name: 'x', TaskTemplate: task({}), UpdateConfig: { FailureAction: 'explode' } }, /^invalid UpdateConfig\.FailureAction: must be one of pause, continue, rollback$/],
      ['rollback order', { Name: 'x', TaskTemplate: task({}), RollbackConfig: { Order: 'random' } }, /^invalid RollbackConfig\.Order: must be one of stop-first, start-first$/],
      ['failure ratio', { Name: 'x', TaskTemplate: task({}), UpdateConfig: { MaxFailureRatio: 2 } }, /^invalid UpdateConfig\.MaxFailureRatio: must be a number between 0 and 1$/],
      ['negative monitor', { Name: 'x', TaskTemplate: task({}), UpdateConfig: { Monitor: -1 } }, /^invalid UpdateConfig\.Monitor: /],
      ['port mode', { Name: 'x', TaskTemplate: task({}), EndpointSpec: { Ports: [{ TargetPort: 80, PublishMode: 'bridge' }] } }, /^invalid EndpointSpec\.Ports\[0\]\.PublishMode: must be one of ingress, host$/],
      ['port protocol', { Name: 'x', TaskTemplate: task({}), EndpointSpec: { Ports: [{ TargetPort: 80, Protocol: 'icmp' }] } }, /^invalid EndpointSpec\.Ports\[0\]\.Protocol: must be one of tcp, udp, sctp$/],
      ['target port 0', { Name: 'x', TaskTemplate: task({}), EndpointSpec: { Ports: [{ TargetPort: 0 }] } }, /^invalid EndpointSpec\.Ports\[0\]\.TargetPort: must be a port number \(1-65535\)$/],
      ['published port too big', { Name: 'x', TaskTemplate: task({}), EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 70000 }] } }, /^invalid EndpointSpec\.Ports\[0\]\.PublishedPort: /],
      ['endpoint mode', { Name: 'x', TaskTemplate: task({}), EndpointSpec: { Mode: 'round-robin' } }, /^invalid EndpointSpec\.Mode: must be one of vip, dnsrr$/],
      ['duplicate published port', { Name: 'x', TaskTemplate: task({}), EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }, { TargetPort: 81, PublishedPort: 8080 }] } }, /duplicate published ports/],
      ['ingress with dnsrr', { Name: 'x', TaskTemplate: task({}), EndpointSpec: { Mode: 'dnsrr', Ports: [{ TargetPort: 80, PublishedPort: 8080 }] } }, /ingress mode can't be used with dnsrr mode/],
      ['labels not strings', { Name: 'x', Labels: { a: 1 }, TaskTemplate: task({}) }, /^invalid Labels\.a: must be a string$/],
    ];
    for (const [what, body, message] of cases) {
      const res = await call(app, { method: 'POST', url: '/v1.41/services/create', body });
      assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
      assert.equal(res.headers['content-type'], 'application/json', what);
      assert.match((res.json() as { message: string }).message, message, what);
    }
    const bad = await call(app, { method: 'POST', url: '/v1.41/services/create', raw: '{bad', headers: { 'content-type': 'application/json' } });
    assert.equal(bad.statusCode, 400);
    const none = await call(app, { method: 'POST', url: '/v1.41/services/create' });
    assert.equal(none.statusCode, 400);
    assert.equal(store.find('service').length, 0, 'nothing was stored');
  });

  it('allocates dynamic ingress ports, refuses a published port another service holds, and resolves references', async () => {
    const { app, store } = await startApi();
    const web = await create(app, minimal('web', { EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }, { TargetPort: 81 }] } }));
    assert.deepEqual((stored(store, web).Endpoint as { Ports: unknown[] }).Ports, [
      { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
      { Protocol: 'tcp', TargetPort: 81, PublishedPort: 30000, PublishMode: 'ingress' },
    ]);
    const other = await create(app, minimal('other', { EndpointSpec: { Ports: [{ TargetPort: 81 }] } }));
    assert.equal((stored(store, other).Endpoint as { Ports: { PublishedPort: number }[] }).Ports[0].PublishedPort, 30001);
    for (const port of [{ TargetPort: 80, PublishedPort: 8080 }, { TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }]) {
      const res = await call(app, { method: 'POST', url: '/services/create', body: minimal('clash', { EndpointSpec: { Ports: [port] } }) });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json(), { message: `rpc error: code = InvalidArgument desc = port '8080' is already in use by service 'web' (${web}) as an ingress port` });
    }
    await create(app, minimal('udp', { EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080, Protocol: 'udp' }] } }));
    await create(app, minimal('host1', { EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 9090, PublishMode: 'host' }] } }));
    await create(app, minimal('host2', { EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 9090, PublishMode: 'host' }] } }));

    let networkId = '';
    let secretId = '';
    await store.update((tx) => {
      networkId = tx.create('network', { Spec: { Name: 'st_backend' } }).ID;
      secretId = tx.create('secret', { Spec: { Name: 's1', Data: 'eA==' } }).ID;
    });
    const attached = await create(app, minimal('attached', {
      TaskTemplate: {
        ContainerSpec: { Image: 'busybox:latest', Secrets: [{ SecretID: secretId, SecretName: 's1', File: { Name: 's1', UID: '0', GID: '0', Mode: 292 } }] },
        Networks: [{ Target: 'st_backend', Aliases: ['web'] }],
      },
    }));
    assert.deepEqual((stored(store, attached).Spec.TaskTemplate as { Networks: unknown }).Networks, [{ Target: networkId, Aliases: ['web'] }]);
    const noNet = await call(app, { method: 'POST', url: '/services/create', body: minimal('nonet', { TaskTemplate: { ContainerSpec: { Image: 'b:1' }, Networks: [{ Target: 'nosuchnet' }] } }) });
    assert.equal(noNet.statusCode, 404);
    assert.deepEqual(noNet.json(), { message: 'network nosuchnet not found' });
    const noSecret = await call(app, {
      method: 'POST', url: '/services/create',
      body: minimal('nosecret', { TaskTemplate: { ContainerSpec: { Image: 'b:1', Secrets: [{ SecretID: 'gone0000000000000000000000', SecretName: 'gone' }] } } }),
    });
    assert.equal(noSecret.statusCode, 400);
    assert.deepEqual(noSecret.json(), { message: 'rpc error: code = InvalidArgument desc = secret not found: gone' });
  });
});

describe('GET /services/{id}', () => {
  it('shows the stored spec with insertDefaults=false and swarmkit’s defaults with insertDefaults=true (the recorded diff)', async () => {
    const { app } = await startApi();
    const id = await create(app, RECORDED_CREATE);
    const plain = await inspect(app, id, false);
    assert.deepEqual(plain.Spec, RECORDED_STORED_SPEC);
    assert.equal('PreviousSpec' in plain, false);
    assert.equal('UpdateStatus' in plain, false);
    assert.equal('ServiceStatus' in plain, false);
    assert.deepEqual(Object.keys(plain), ['ID', 'Version', 'CreatedAt', 'UpdatedAt', 'Spec', 'Endpoint']);
    const full = await inspect(app, id, true);
    assert.deepEqual(full.Spec, {
      ...RECORDED_STORED_SPEC,
      TaskTemplate: {
        ...RECORDED_STORED_SPEC.TaskTemplate,
        ContainerSpec: { ...RECORDED_STORED_SPEC.TaskTemplate.ContainerSpec, StopGracePeriod: 10000000000 },
      },
      RollbackConfig: { Parallelism: 1, FailureAction: 'pause', Monitor: 5000000000, MaxFailureRatio: 0, Order: 'stop-first' },
    });
    // Unversioned and without the parameter: insertDefaults is false.
    assert.deepEqual((await call(app, { url: `/services/${id}` })).json().Spec, RECORDED_STORED_SPEC);
  });

  it('fills every default of a minimal spec with insertDefaults=true', async () => {
    const { app } = await startApi();
    const id = await create(app, { Name: 'tiny', TaskTemplate: { ContainerSpec: { Image: 'busybox:latest' } } });
    const spec = (await inspect(app, id, true)).Spec;
    assert.deepEqual(spec, {
      Name: 'tiny',
      Labels: {},
      TaskTemplate: {
        ContainerSpec: { Image: 'busybox:latest', Isolation: 'default', StopGracePeriod: 10000000000, DNSConfig: {} },
        Resources: {},
        RestartPolicy: { Condition: 'any', Delay: 5000000000, MaxAttempts: 0 },
        Placement: {},
        ForceUpdate: 0,
        Runtime: 'container',
      },
      Mode: { Replicated: { Replicas: 1 } },
      UpdateConfig: { Parallelism: 1, FailureAction: 'pause', Monitor: 5000000000, MaxFailureRatio: 0, Order: 'stop-first' },
      RollbackConfig: { Parallelism: 1, FailureAction: 'pause', Monitor: 5000000000, MaxFailureRatio: 0, Order: 'stop-first' },
      EndpointSpec: { Mode: 'vip' },
    });
  });

  it('finds a service by ID, name (any case) or unique ID prefix; 404 with dockerd’s text otherwise', async () => {
    const { app } = await startApi();
    const id = await create(app, minimal('web'));
    for (const ref of [id, 'web', 'WEB', id.slice(0, 5)]) assert.equal((await inspect(app, ref)).ID, id, ref);
    const missing = await call(app, { url: '/v1.41/services/nosuch?insertDefaults=true' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.headers['content-type'], 'application/json');
    assert.deepEqual(missing.json(), { message: 'service nosuch not found' });
  });
});

describe('GET /services', () => {
  it('filters by id prefix, name prefix, label and mode; refuses an unknown filter', async () => {
    const { app } = await startApi();
    const web = await create(app, minimal('web', { Labels: { tier: 'front', 'com.docker.stack.namespace': 'st' } }));
    const worker = await create(app, minimal('webworker', { Labels: { tier: 'back' } }));
    const glob = await create(app, minimal('glob', { Mode: { Global: {} } }));
    const list = async (filters: unknown): Promise<string[]> => {
      const res = await call(app, { url: `/v1.41/services?${filtersParam(filters)}` });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { ID: string }[]).map((s) => s.ID).sort();
    };
    assert.deepEqual(await list({}), [web, worker, glob].sort());
    assert.deepEqual(await list({ name: { web: true } }), [web, worker].sort());
    assert.deepEqual(await list({ id: { [glob.slice(0, 6)]: true } }), [glob]);
    assert.deepEqual(await list({ id: { web: true } }), [], 'the CLI’s `service ps web` first asks by id');
    assert.deepEqual(await list({ label: { tier: true } }), [web, worker].sort());
    assert.deepEqual(await list({ label: { 'tier=back': true } }), [worker]);
    assert.deepEqual(await list({ label: { 'com.docker.stack.namespace=st': true } }), [web]);
    assert.deepEqual(await list({ mode: { global: true } }), [glob]);
    assert.deepEqual(await list({ mode: { replicated: true }, name: { webw: true } }), [worker]);
    const bogus = await call(app, { url: `/v1.41/services?${filtersParam({ bogus: { x: true } })}` });
    assert.equal(bogus.statusCode, 400);
    assert.deepEqual(bogus.json(), { message: "Invalid filter 'bogus'" });
    const plain = (await call(app, { url: '/v1.41/services' })).json() as Record<string, unknown>[];
    assert.ok(plain.every((s) => !('ServiceStatus' in s)), 'ServiceStatus only with status=true');
  });

  it('adds ServiceStatus with status=true, counted from the tasks in the store', async () => {
    const { app, store } = await startApi();
    const web = await create(app, minimal('web', { Mode: { Replicated: { Replicas: 3 } } }));
    const glob = await create(app, minimal('glob', { Mode: { Global: {} } }));
    const idle = await create(app, minimal('idle'));
    await store.update((tx) => {
      const task = (serviceId: string, nodeId: string, desired: 'running' | 'shutdown', state: 'running' | 'pending' | 'failed', slot?: number) =>
        tx.create('task', { ServiceID: serviceId, NodeID: nodeId, ...(slot ? { Slot: slot } : {}), Spec: {}, DesiredState: desired, Status: { State: state } });
      task(web, IDS.worker1, 'running', 'running', 1);
      task(web, IDS.manager1, 'running', 'running', 2);
      task(web, IDS.worker2, 'running', 'running', 3); // worker2 is down: not counted
      task(web, IDS.manager2, 'shutdown', 'running', 3); // being shut down: not counted
      task(web, IDS.manager3, 'running', 'pending', 4);
      task(glob, IDS.manager1, 'running', 'running');
      task(glob, IDS.manager2, 'running', 'running');
      task(glob, IDS.manager3, 'running', 'pending');
      task(glob, IDS.worker1, 'shutdown', 'failed');
      task(glob, IDS.worker2, 'running', 'running'); // on a down node
    });
    const res = await call(app, { url: '/v1.41/services?status=true' });
    assert.equal(res.statusCode, 200);
    const statuses = new Map((res.json() as { ID: string; ServiceStatus: unknown }[]).map((s) => [s.ID, s.ServiceStatus]));
    assert.deepEqual(statuses.get(web), { RunningTasks: 2, DesiredTasks: 3, CompletedTasks: 0 });
    assert.deepEqual(statuses.get(glob), { RunningTasks: 2, DesiredTasks: 3, CompletedTasks: 0 });
    assert.deepEqual(statuses.get(idle), { RunningTasks: 0, DesiredTasks: 1, CompletedTasks: 0 });
  });
});

describe('POST /services/{id}/update', () => {
  it('replaces the spec at the version the client read, keeps PreviousSpec, and answers {"Warnings":null}', async () => {
    const { app, store } = await startApi();
    const id = await create(app, RECORDED_CREATE);
    const before = await inspect(app, 'web');
    // docker service scale web=5: the stored spec with Replicas changed.
    const scaled = { ...before.Spec, Mode: { Replicated: { Replicas: 5 } } };
    const res = await call(app, { method: 'POST', url: `/v1.41/services/${id}/update?version=${before.Version.Index}`, body: scaled });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.body, '{"Warnings":null}');
    const after = await inspect(app, 'web');
    assert.ok(after.Version.Index > before.Version.Index);
    assert.deepEqual(after.Spec.Mode, { Replicated: { Replicas: 5 } });
    assert.deepEqual(after.PreviousSpec, before.Spec);
    assert.equal(stored(store, id).Spec.Name, 'web');

    // The same version again is stale: dockerd's 500.
    const stale = await call(app, { method: 'POST', url: `/v1.41/services/${id}/update?version=${before.Version.Index}`, body: scaled });
    assert.equal(stale.statusCode, 500);
    assert.equal(stale.headers['content-type'], 'application/json');
    assert.deepEqual(stale.json(), { message: 'rpc error: code = Unknown desc = update out of sequence' });
    const missing = await call(app, { method: 'POST', url: `/v1.41/services/${id}/update`, body: scaled });
    assert.equal(missing.statusCode, 400);
    assert.deepEqual(missing.json(), { message: 'invalid service version \'\': strconv.ParseUint: parsing "": invalid syntax' });
    const invalid = await call(app, { method: 'POST', url: `/v1.41/services/${id}/update?version=${after.Version.Index}`, body: { ...scaled, Mode: { Replicated: { Replicas: -2 } } } });
    assert.equal(invalid.statusCode, 400);
    const nosuch = await call(app, { method: 'POST', url: '/v1.41/services/nosuch/update?version=1', body: scaled });
    assert.equal(nosuch.statusCode, 404);
    assert.deepEqual(nosuch.json(), { message: 'service nosuch not found' });
  });

  it('rolls back to PreviousSpec with rollback=previous, swapping the two, whatever the body says', async () => {
    const { app } = await startApi();
    const id = await create(app, RECORDED_CREATE);
    const first = await inspect(app, id);
    const noPrevious = await call(app, { method: 'POST', url: `/v1.41/services/${id}/update?rollback=previous&version=${first.Version.Index}`, body: first.Spec });
    assert.equal(noPrevious.statusCode, 400);
    assert.deepEqual(noPrevious.json(), { message: `rpc error: code = FailedPrecondition desc = service ${id} does not have a previous spec` });

    const envAdded = structuredClone(first.Spec);
    envAdded.TaskTemplate.ContainerSpec.Env = ['A=1', 'B=2'];
    const updated = await call(app, { method: 'POST', url: `/v1.41/services/${id}/update?registryAuthFrom=spec&version=${first.Version.Index}`, body: envAdded });
    assert.equal(updated.statusCode, 200, updated.body);
    const second = await inspect(app, id);
    const rolled = await call(app, { method: 'POST', url: `/v1.41/services/${id}/update?rollback=previous&version=${second.Version.Index}`, body: second.Spec });
    assert.equal(rolled.statusCode, 200, rolled.body);
    assert.deepEqual(rolled.json(), { Warnings: null });
    const third = await inspect(app, id);
    assert.deepEqual(third.Spec.TaskTemplate.ContainerSpec.Env, ['A=1']);
    assert.deepEqual(third.PreviousSpec.TaskTemplate.ContainerSpec.Env, ['A=1', 'B=2']);
    assert.equal(third.UpdateStatus.State, 'rollback_started');
    assert.equal(third.UpdateStatus.Message, 'manually requested rollback');
    const bad = await call(app, { method: 'POST', url: `/v1.41/services/${id}/update?rollback=sideways&version=${third.Version.Index}`, body: third.Spec });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json(), { message: 'unrecognized rollback option sideways' });
  });

  it('refuses a rename or a mode change as dockerd does', async () => {
    const { app } = await startApi();
    const id = await create(app, minimal('web'));
    const current = await inspect(app, id);
    const rename = await call(app, { method: 'POST', url: `/services/${id}/update?version=${current.Version.Index}`, body: { ...current.Spec, Name: 'web2' } });
    assert.equal(rename.statusCode, 501);
    assert.deepEqual(rename.json(), { message: 'rpc error: code = Unimplemented desc = renaming services is not supported' });
    const mode = await call(app, { method: 'POST', url: `/services/${id}/update?version=${current.Version.Index}`, body: { ...current.Spec, Mode: { Global: {} } } });
    assert.equal(mode.statusCode, 501);
    assert.deepEqual(mode.json(), { message: 'rpc error: code = Unimplemented desc = service mode change is not allowed' });
  });

  it('makes tasks out of date on a ForceUpdate bump or an env change, not on a scale (the `_up-to-date` task filter)', async () => {
    const { app, store } = await startApi();
    const id = await create(app, minimal('web', { Mode: { Replicated: { Replicas: 1 } } }));
    const template = stored(store, id).Spec.TaskTemplate!;
    await store.update((tx) => {
      tx.create('task', { ServiceID: id, Slot: 1, NodeID: IDS.worker1, Spec: structuredClone(template), DesiredState: 'running', Status: { State: 'running' } });
    });
    const upToDate = async (): Promise<number> => {
      const res = await call(app, { url: `/v1.41/tasks?${filtersParam({ '_up-to-date': { true: true }, service: { [id]: true } })}` });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as unknown[]).length;
    };
    assert.equal(await upToDate(), 1);
    let current = await inspect(app, id);
    await call(app, { method: 'POST', url: `/services/${id}/update?version=${current.Version.Index}`, body: { ...current.Spec, Mode: { Replicated: { Replicas: 4 } } } });
    assert.equal(await upToDate(), 1, 'a scale leaves the task up to date');
    current = await inspect(app, id);
    const forced = structuredClone(current.Spec);
    forced.TaskTemplate.ForceUpdate += 1;
    const res = await call(app, { method: 'POST', url: `/services/${id}/update?version=${current.Version.Index}`, body: forced });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(stored(store, id).Spec.TaskTemplate!.ForceUpdate, 1);
    assert.equal(await upToDate(), 0, '--force makes the task out of date');
    // A task made from the new template is up to date; an env change makes it dirty again.
    await store.update((tx) => {
      tx.create('task', { ServiceID: id, Slot: 2, NodeID: IDS.worker1, Spec: structuredClone(stored(store, id).Spec.TaskTemplate!), DesiredState: 'running', Status: { State: 'running' } });
    });
    assert.equal(await upToDate(), 1);
    current = await inspect(app, id);
    const envChanged = structuredClone(current.Spec);
    envChanged.TaskTemplate.ContainerSpec.Env = ['B=2'];
    assert.equal((await call(app, { method: 'POST', url: `/services/${id}/update?version=${current.Version.Index}`, body: envChanged })).statusCode, 200);
    assert.equal(await upToDate(), 0, 'an env change makes the task out of date');
  });
});

describe('registry credentials (X-Registry-Auth)', () => {
  const AUTH = Buffer.from(JSON.stringify({ username: 'u', password: 'secret-pw' })).toString('base64url');

  it('keeps them in the task template for the pulling node, never shows them, and carries them across updates', async () => {
    const { app, store } = await startApi();
    const res = await call(app, { method: 'POST', url: '/v1.41/services/create', body: minimal('private'), headers: { 'X-Registry-Auth': AUTH } });
    assert.equal(res.statusCode, 201, res.body);
    const id = (res.json() as { ID: string }).ID;
    const kept = stored(store, id).Spec.TaskTemplate as { ContainerSpec: { PullOptions?: { RegistryAuth?: string } } };
    assert.equal(kept.ContainerSpec.PullOptions?.RegistryAuth, AUTH);
    const shown = await inspect(app, 'private');
    assert.ok(!JSON.stringify(shown).includes(AUTH), 'inspect does not show the credentials');
    assert.equal(shown.Spec.TaskTemplate.ContainerSpec.PullOptions, undefined);

    // An update without the header keeps them (registryAuthFrom=spec, the CLI's default).
    const scaled = { ...shown.Spec, Mode: { Replicated: { Replicas: 2 } } };
    const updated = await call(app, { method: 'POST', url: `/v1.41/services/${id}/update?version=${shown.Version.Index}&registryAuthFrom=spec`, body: scaled });
    assert.equal(updated.statusCode, 200, updated.body);
    const after = stored(store, id);
    assert.equal((after.Spec.TaskTemplate as any).ContainerSpec.PullOptions.RegistryAuth, AUTH);
    const again = await inspect(app, 'private');
    assert.ok(!JSON.stringify(again).includes(AUTH), 'neither Spec nor PreviousSpec shows them');
  });
});

describe('DELETE /services/{id}', () => {
  it('removes the service with 200 and no body; 404 for an unknown one', async () => {
    const { app, store } = await startApi();
    const id = await create(app, minimal('web'));
    const res = await call(app, { method: 'DELETE', url: '/v1.41/services/web' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, '');
    assert.equal(store.get('service', id), undefined);
    const missing = await call(app, { method: 'DELETE', url: '/v1.41/services/web' });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), { message: 'service web not found' });
    // The name is free again.
    await create(app, minimal('web'));
  });
});

describe('task label filters and writes on a worker', () => {
  it('matches a task label filter against its service’s labels', async () => {
    const { app, store } = await startApi();
    const id = await create(app, minimal('st_web', { Labels: { 'com.docker.stack.namespace': 'st' } }));
    await store.update((tx) => {
      tx.create('task', { ServiceID: id, Slot: 1, Spec: {}, DesiredState: 'running', Status: { State: 'pending' } });
    });
    const res = await call(app, { url: `/v1.41/tasks?${filtersParam({ label: { 'com.docker.stack.namespace=st': true } })}` });
    assert.equal((res.json() as unknown[]).length, 1);
    const none = await call(app, { url: `/v1.41/tasks?${filtersParam({ label: { 'com.docker.stack.namespace=other': true } })}` });
    assert.equal((none.json() as unknown[]).length, 0);
  });

  it('answers 503 on a worker, for reads and writes alike', async () => {
    const { app, backend } = await startApi();
    backend.becomeWorker();
    for (const req of [
      { url: '/v1.41/services' },
      { method: 'POST' as const, url: '/v1.41/services/create', body: minimal('web') },
      { method: 'DELETE' as const, url: '/v1.41/services/web' },
    ]) {
      const res = await call(app, req);
      assert.equal(res.statusCode, 503, req.url);
    }
  });
});

describe('GET /distribution/{image}/json', () => {
  it('answers 404 with a message, for names with slashes and digests too (the CLI warns and goes on)', async () => {
    const { app } = await startApi();
    for (const image of ['localbusybox:1', 'library/busybox:latest', 'registry.example.com:5000/team/app@sha256:abcd']) {
      const res = await call(app, { url: `/v1.41/distribution/${image}/json` });
      assert.equal(res.statusCode, 404, image);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.match((res.json() as { message: string }).message, new RegExp(`^no digest for image ${image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    }
  });
});
