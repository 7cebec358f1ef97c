import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExecutorTask } from '../../../../worker/executor/executor.js';
import { isExecutorError } from '../../../../worker/executor/executor.js';
import type { DockerTask } from '../../../../worker/executor/docker/container-config.js';
import { containerName, containerPlan, healthcheckEnabled } from '../../../../worker/executor/docker/container-config.js';

const node = { nodeId: 'node1', hostname: 'host-a' };

function task(containerSpec: Record<string, unknown>, extra: Partial<DockerTask> & Record<string, unknown> = {}): DockerTask {
  return {
    ID: 'task1',
    ServiceID: 'svc1',
    ServiceAnnotations: { Name: 'web' },
    Slot: 2,
    NodeID: 'node1',
    Spec: { ContainerSpec: { Image: 'busybox', ...containerSpec } },
    ...extra,
  } as DockerTask;
}

test('containers are named <service>.<slot>.<task>, the node ID standing in for a global task\'s slot', () => {
  assert.equal(containerName(task({}), 'node1'), 'web.2.task1');
  assert.equal(containerName(task({}, { Slot: 0 }), 'node1'), 'web.node1.task1');
  assert.equal(containerName(task({}, { Slot: undefined, NodeID: undefined }), 'node9'), 'web.node9.task1');
  // The service's name: its annotation, else the start of the task's name, else the service ID.
  assert.equal(containerName(task({}, { ServiceAnnotations: undefined, Name: 'api.2.task1' }), 'n'), 'api.2.task1');
  assert.equal(containerName(task({}, { ServiceAnnotations: undefined }), 'n'), 'svc1.2.task1');
});

test('the ContainerSpec maps onto the create body as Swarm maps it', () => {
  const plan = containerPlan(task({
    Image: 'registry.local/app:1',
    Command: ['/bin/app', '--serve'],
    Args: ['--port', '80'],
    Env: ['A=1', 'SLOT={{.Task.Slot}}', 'UNSET', 'EQ=a={{.Node.ID}}'],
    Dir: '/srv',
    User: 'www:www',
    Groups: ['audio'],
    Hostname: '{{.Service.Name}}-{{.Task.Slot}}.{{.Node.Hostname}}',
    TTY: true,
    OpenStdin: true,
    ReadOnly: true,
    Init: true,
    StopSignal: 'SIGQUIT',
    StopGracePeriod: 2_500_000_000,
    Labels: { team: 'blue' },
    Sysctls: { 'net.core.somaxconn': '1024' },
    CapabilityAdd: ['NET_ADMIN'],
    CapabilityDrop: ['MKNOD'],
    Healthcheck: { Test: ['CMD', 'true'], Interval: 1e9, Timeout: 2e9, Retries: 3, StartPeriod: 5e9 },
    Mounts: [
      { Type: 'bind', Source: '/srv/{{.Service.Name}}', Target: '/data/{{.Task.Slot}}', ReadOnly: true, BindOptions: { Propagation: 'rprivate' } },
      { Type: 'volume', Source: 'vol-{{.Task.Slot}}', Target: '/vol', VolumeOptions: { NoCopy: true, Labels: { slot: '{{.Task.Slot}}' }, DriverConfig: { Name: 'local', Options: { o: 'x' } } } },
      { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 1024, Mode: 0o1777 } },
    ],
    Hosts: ['10.0.0.1 db db.local'],
    DNSConfig: { Nameservers: ['1.1.1.1'], Search: ['example.org'], Options: ['ndots:2'] },
    PullOptions: { RegistryAuth: 'c2VjcmV0' },
  }, {
    Endpoint: {
      Spec: {
        Ports: [
          { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' },
          { Protocol: 'udp', TargetPort: 53, PublishMode: 'host' },
          { Protocol: 'tcp', TargetPort: 443, PublishedPort: 443, PublishMode: 'ingress' },
        ],
      },
    },
  }), node);
  const spec = { ...plan.create, Labels: undefined };
  assert.equal(plan.name, 'web.2.task1');
  assert.equal(plan.registryAuth, 'c2VjcmV0');
  assert.equal(plan.stopGracePeriodMs, 2500);
  assert.deepEqual(plan.create.Labels, {
    team: 'blue',
    'com.docker.swarm.node.id': 'node1',
    'com.docker.swarm.service.id': 'svc1',
    'com.docker.swarm.service.name': 'web',
    'com.docker.swarm.task': '',
    'com.docker.swarm.task.id': 'task1',
    'com.docker.swarm.task.name': 'web.2.task1',
    'com.berth.managed': 'true',
  });
  assert.deepEqual(spec, {
    Image: 'registry.local/app:1',
    Hostname: 'web-2.host-a',
    User: 'www:www',
    Env: ['A=1', 'SLOT=2', 'UNSET', 'EQ=a=node1'],
    Entrypoint: ['/bin/app', '--serve'],
    Cmd: ['--port', '80'],
    WorkingDir: '/srv',
    Tty: true,
    OpenStdin: true,
    Labels: undefined,
    StopSignal: 'SIGQUIT',
    StopTimeout: 3,
    Healthcheck: { Test: ['CMD', 'true'], Interval: 1e9, Timeout: 2e9, Retries: 3, StartPeriod: 5e9 },
    ExposedPorts: { '80/tcp': {}, '53/udp': {} },
    HostConfig: {
      Mounts: [
        { Type: 'bind', Source: '/srv/web', Target: '/data/2', ReadOnly: true, BindOptions: { Propagation: 'rprivate' } },
        { Type: 'volume', Source: 'vol-2', Target: '/vol', VolumeOptions: { NoCopy: true, Labels: { slot: '2' }, DriverConfig: { Name: 'local', Options: { o: 'x' } } } },
        { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 1024, Mode: 0o1777 } },
      ],
      ReadonlyRootfs: true,
      Init: true,
      GroupAdd: ['audio'],
      Sysctls: { 'net.core.somaxconn': '1024' },
      CapAdd: ['NET_ADMIN'],
      CapDrop: ['MKNOD'],
      PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }], '53/udp': [{ HostIp: '', HostPort: '' }] },
      ExtraHosts: ['db:10.0.0.1', 'db.local:10.0.0.1'],
      Dns: ['1.1.1.1'],
      DnsSearch: ['example.org'],
      DnsOptions: ['ndots:2'],
    },
  });
});

test('resources: limits and the memory reservation; the log driver', () => {
  const t = task({});
  t.Spec.Resources = { Limits: { NanoCPUs: 1_500_000_000, MemoryBytes: 1 << 26, Pids: 100 }, Reservations: { NanoCPUs: 1e8, MemoryBytes: 1 << 24 } };
  t.Spec.LogDriver = { Name: 'json-file', Options: { 'max-size': '10m' } };
  const { HostConfig } = containerPlan(t, node).create;
  assert.equal(HostConfig.NanoCpus, 1_500_000_000);
  assert.equal(HostConfig.Memory, 1 << 26);
  assert.equal(HostConfig.PidsLimit, 100);
  assert.equal(HostConfig.MemoryReservation, 1 << 24);
  assert.deepEqual(HostConfig.LogConfig, { Type: 'json-file', Config: { 'max-size': '10m' } });
});

test('a minimal spec sets only what it says: the image\'s entrypoint, command and healthcheck still apply', () => {
  const { create, stopGracePeriodMs, registryAuth } = containerPlan(task({}), node);
  assert.equal(create.Entrypoint, undefined);
  assert.equal(create.Cmd, undefined);
  assert.equal(create.Healthcheck, undefined);
  assert.equal(create.StopTimeout, 10);
  assert.equal(stopGracePeriodMs, 10_000);
  assert.equal(registryAuth, undefined);
  assert.deepEqual(create.HostConfig, {});
  // Args alone keep the image's ENTRYPOINT and replace its CMD.
  const argsOnly = containerPlan(task({ Args: ['-v'] }), node).create;
  assert.equal(argsOnly.Entrypoint, undefined);
  assert.deepEqual(argsOnly.Cmd, ['-v']);
});

test('global tasks expand {{.Task.Slot}} to the node ID, as Swarm does', () => {
  const plan = containerPlan(task({ Env: ['S={{.Task.Slot}}', 'N={{.Task.Name}}'] }, { Slot: 0 }), node);
  assert.deepEqual(plan.create.Env, ['S=node1', 'N=web.node1.task1']);
  assert.equal(plan.name, 'web.node1.task1');
});

test('healthchecks run unless absent, empty or NONE', () => {
  assert.equal(healthcheckEnabled(undefined), false);
  assert.equal(healthcheckEnabled({ Test: [] }), false);
  assert.equal(healthcheckEnabled({ Test: ['NONE'] }), false);
  assert.equal(healthcheckEnabled({ Test: ['CMD-SHELL', 'true'] }), true);
});

test('what the executor can tell is wrong is rejected before the engine is asked', () => {
  const cases: [ExecutorTask, string, RegExp][] = [
    [task({ Image: undefined }), 'INVALID_SPEC', /^invalid ContainerSpec\.Image: required$/],
    [task({}, { ID: '../x' }), 'INVALID_SPEC', /^invalid task ID/],
    [task({ Env: ['=x'] }), 'INVALID_SPEC', /^invalid ContainerSpec\.Env: "=x" has no variable name$/],
    [task({ Env: ['A={{.Oops}}'] }), 'INVALID_SPEC', /^invalid ContainerSpec\.Env \(A\): unknown template placeholder \{\{\.Oops\}\}/],
    [task({ Hostname: '{{.Task.Slot' }), 'INVALID_SPEC', /^invalid ContainerSpec\.Hostname: template/],
    [task({ Dir: 'relative' }), 'INVALID_SPEC', /^invalid ContainerSpec\.Dir: "relative" is not an absolute path$/],
    [task({ Mounts: [{ Type: 'nfs', Target: '/x' }] }), 'INVALID_SPEC', /^invalid ContainerSpec\.Mounts\[0\]\.Type: "nfs" is not one of bind, volume, tmpfs$/],
    [task({ Mounts: [{ Type: 'bind', Source: 'rel', Target: '/x' }] }), 'INVALID_SPEC', /Mounts\[0\]\.Source: a bind mount needs an absolute host path/],
    [task({ Mounts: [{ Type: 'volume', Source: 'v', Target: 'x' }] }), 'INVALID_SPEC', /Mounts\[0\]\.Target: "x" is not an absolute path/],
    [task({ Mounts: [{ Type: 'tmpfs', Source: 's', Target: '/x' }] }), 'INVALID_SPEC', /a tmpfs mount has no source/],
    [task({ Mounts: [{ Type: 'volume', Target: '/x', TmpfsOptions: {} }] }), 'INVALID_SPEC', /TmpfsOptions: only for a tmpfs mount/],
    [task({ Healthcheck: { Test: ['SHELL', 'x'] } }), 'INVALID_SPEC', /Healthcheck\.Test: must start with NONE, CMD or CMD-SHELL/],
    [task({ Healthcheck: { Test: ['CMD', 'x'], Interval: 5 } }), 'INVALID_SPEC', /Healthcheck\.Interval: must be 0 or at least 1 ms/],
    [task({ StopGracePeriod: -1 }), 'INVALID_SPEC', /StopGracePeriod/],
    [task({ Labels: { 'com.docker.swarm.task.id': 'spoof' } }), 'INVALID_SPEC', /com\.docker\.swarm\.task\.id is set by the executor/],
    [task({ Secrets: [{ SecretName: 's' }] }), 'UNSUPPORTED', /^the docker executor does not support secrets: /],
    [task({ Configs: [{ ConfigName: 'c' }] }), 'UNSUPPORTED', /^the docker executor does not support configs: /],
    [task({}, { Endpoint: { Ports: [{ Protocol: 'icmp', TargetPort: 1, PublishMode: 'host' }] } }), 'INVALID_SPEC', /Endpoint\.Ports\[0\]\.Protocol/],
    [task({}, { Endpoint: { Ports: [{ TargetPort: 0, PublishMode: 'host' }] } }), 'INVALID_SPEC', /Endpoint\.Ports\[0\]\.TargetPort/],
    [task({}, { Endpoint: { Ports: [{ TargetPort: 80, PublishedPort: 70000, PublishMode: 'host' }] } }), 'INVALID_SPEC', /Endpoint\.Ports\[0\]\.PublishedPort/],
  ];
  for (const [t, code, message] of cases) {
    assert.throws(() => containerPlan(t as DockerTask, node), (error: unknown) => {
      assert.ok(isExecutorError(error), String(error));
      assert.equal(error.code, code, error.message);
      assert.equal(error.taskState, 'rejected');
      assert.match(error.message, message);
      return true;
    });
  }
});
