// `berth service …` against recorded dockerd responses: the requests must be the ones the docker CLI
// sent for the same command (same order, same bodies), and the output docker's.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describe as describeExchange, recorded, ReplayServer, type Exchange } from './replay-server.js';
import { berthAgainst } from './run-berth.js';

const WEB = 'lwek99lcsh1q40f3mtsndgmty';
const NODE = 'zczb4ttv0u9mhmx01v3pjre8o';
const UP_TO_DATE = JSON.stringify({ '_up-to-date': { true: true }, service: { [WEB]: true } });

/** The flags docker was given for the recorded `service create` (catalog §5.1). */
const CREATE_FLAGS = [
  '--name', 'web', '--replicas', '3', '-p', '8080:8080', '--env', 'A=1', '--label', 'x=y', '--limit-memory', '64m',
  '--reserve-cpu', '0.1', '--restart-condition', 'on-failure', '--update-parallelism', '2', '--constraint', 'node.role==manager',
];
const CREATE_ARGS = ['localbusybox:1', 'httpd', '-f', '-p', '8080'];


function postBody(exchanges: Exchange[]): unknown {
  const exchange = exchanges.find((e) => e.method === 'POST');
  assert.ok(exchange?.reqBody, 'a recorded POST with a body');
  return JSON.parse(exchange.reqBody);
}

function sentPost(server: ReplayServer): { raw: string; body: unknown } {
  const post = server.requests.find((r) => r.method === 'POST');
  assert.ok(post, 'berth sent a POST');
  return { raw: post.body, body: JSON.parse(post.body) };
}

/** A task list answer: `template` with every task's state replaced, and optionally `count` copies by slot. */
function tasksAnswer(url: string, template: Exchange, state: string, count?: number): Exchange {
  let tasks = JSON.parse(template.resBody!) as { ID: string; Slot: number; Status: { State: string }; NodeID?: string }[];
  if (count !== undefined) {
    tasks = Array.from({ length: count }, (_, i) => ({ ...structuredClone(tasks[0]), ID: `task${i + 1}`, Slot: i + 1 }));
  }
  for (const t of tasks) {
    t.Status.State = state;
    t.NodeID = NODE;
  }
  return { method: 'GET', url, status: 200, resHeaders: { 'content-type': 'application/json' }, resBody: JSON.stringify(tasks) };
}

/** A service answer with UpdateConfig.Monitor shortened, so the verify wait takes 100 ms, not 5 s. */
function quickMonitor(exchange: Exchange): Exchange {
  const service = JSON.parse(exchange.resBody!) as { Spec: { UpdateConfig?: { Monitor?: number } } };
  service.Spec.UpdateConfig = { ...(service.Spec.UpdateConfig ?? {}), Monitor: 100_000_000 };
  return { ...exchange, resBody: JSON.stringify(service) };
}

// ---------------------------------------------------------------------------------------------
// create

test('service create -d with docker\'s recorded flags sends its requests and its exact body', async () => {
  const exchanges = recorded('service create web (full flags, default detach)');
  const { code, stdout, stderr, server } = await berthAgainst(exchanges, ['service', 'create', '-d', ...CREATE_FLAGS, ...CREATE_ARGS]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(server.sent(), exchanges.slice(0, 3).map(describeExchange));
  assert.deepEqual(server.sent(), ['HEAD /_ping', 'GET /distribution/localbusybox:1/json', 'POST /services/create']);
  const post = sentPost(server);
  assert.deepEqual(post.body, postBody(exchanges));
  // Go's field order and its json.Encoder newline, byte for byte.
  assert.equal(post.raw, exchanges[2].reqBody);
  assert.equal(server.requests[2].headers['content-type'], 'application/json');
  assert.equal(stdout, `${WEB}\n`);
  assert.equal(
    stderr,
    'image localbusybox:1 could not be accessed on a registry to record\nits digest. Each node will access localbusybox:1 independently,\n' +
      'possibly leading to different nodes running different\nversions of the image.\n\n',
  );
});

test('service create --mode global: Mode Global, empty Resources and Placement, no UpdateConfig', async () => {
  const exchanges = recorded('service create --mode global');
  const { code, server } = await berthAgainst(exchanges, ['service', 'create', '-d', '--name', 'glob', '--mode', 'global', '--stop-grace-period', '1s', 'localbusybox:1', 'sleep', '3600']);
  assert.equal(code, 0);
  assert.deepEqual(server.sent(), exchanges.slice(0, 3).map(describeExchange));
  assert.equal(sentPost(server).raw, exchanges[2].reqBody);
});

test('service create with the rest of the flags builds docker\'s spec', async () => {
  const exchanges = recorded('service create --mode global');
  const { code, stderr, server } = await berthAgainst(exchanges, [
    'service', 'create', '-d', '--no-resolve-image', '--name', 'full', '--mode', 'replicated', '-e', 'A=1', '-e', 'B=2', '-e', 'A=3',
    '-l', 'tier=front', '--container-label', 'c=1', '--constraint', 'node.role==worker', '--placement-pref', 'spread=node.labels.zone',
    '--reserve-memory', '1g', '--limit-cpu', '1.5', '--restart-delay', '1m30s', '--restart-max-attempts', '3', '--restart-window', '10s',
    '--replicas-max-per-node', '2', '-w', '/srv', '-u', 'nobody', '--hostname', '{{.Service.Name}}-{{.Task.Slot}}', '--stop-signal', 'SIGINT',
    '--init', '--read-only', '--update-delay', '10s', '--update-failure-action', 'rollback', '--update-order', 'start-first',
    '-p', 'published=9000,target=90,protocol=udp,mode=host', '-p', '8000-8001:80-81', 'busybox', '--', 'sh', '-c', 'sleep 1',
  ]);
  assert.equal(code, 0, stderr);
  // --no-resolve-image: no /distribution query; a bare image name gets :latest.
  assert.deepEqual(server.sent(), ['HEAD /_ping', 'POST /services/create']);
  assert.deepEqual(sentPost(server).body, {
    Name: 'full',
    Labels: { tier: 'front' },
    TaskTemplate: {
      ContainerSpec: {
        Image: 'busybox:latest',
        Labels: { c: '1' },
        // As docker (pflag stops at IMAGE), a "--" after the image is part of the command line.
        Args: ['--', 'sh', '-c', 'sleep 1'],
        Hostname: '{{.Service.Name}}-{{.Task.Slot}}',
        Env: ['B=2', 'A=3'],
        Dir: '/srv',
        User: 'nobody',
        Init: true,
        StopSignal: 'SIGINT',
        ReadOnly: true,
        DNSConfig: {},
      },
      Resources: { Limits: { NanoCPUs: 1_500_000_000 }, Reservations: { MemoryBytes: 1024 ** 3 } },
      RestartPolicy: { Condition: 'any', Delay: 90e9, MaxAttempts: 3, Window: 10e9 },
      Placement: { Constraints: ['node.role==worker'], Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }], MaxReplicas: 2 },
      ForceUpdate: 0,
    },
    Mode: { Replicated: {} },
    UpdateConfig: { Parallelism: 1, Delay: 10e9, FailureAction: 'rollback', Monitor: 5e9, MaxFailureRatio: 0, Order: 'start-first' },
    EndpointSpec: {
      Mode: 'vip',
      Ports: [
        { Protocol: 'udp', TargetPort: 90, PublishedPort: 9000, PublishMode: 'host' },
        { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8000, PublishMode: 'ingress' },
        { Protocol: 'tcp', TargetPort: 81, PublishedPort: 8001, PublishMode: 'ingress' },
      ],
    },
  });
});

test('service create -- IMAGE: "--" before the image only ends the options; job modes', async () => {
  const exchanges = recorded('service create --mode global');
  const plain = await berthAgainst(exchanges, ['service', 'create', '-d', '--no-resolve-image', '--', 'busybox:1', 'ls', '-l']);
  assert.equal(plain.code, 0, plain.stderr);
  const body = sentPost(plain.server).body as { Name?: string; TaskTemplate: { ContainerSpec: { Args: string[] } }; Mode: unknown };
  assert.deepEqual(body.TaskTemplate.ContainerSpec.Args, ['ls', '-l']);
  // Without --name, Name is left out (omitempty) and the daemon picks one.
  assert.equal('Name' in body, false);
  assert.deepEqual(body.Mode, { Replicated: {} });
  const job = await berthAgainst(exchanges, ['service', 'create', '-d', '--no-resolve-image', '--mode', 'replicated-job', '--replicas', '4', 'busybox:1']);
  assert.deepEqual((sentPost(job.server).body as { Mode: unknown }).Mode, { ReplicatedJob: { MaxConcurrent: 4, TotalCompletions: 4 } });
  const globalJob = await berthAgainst(exchanges, ['service', 'create', '-d', '--no-resolve-image', '--mode', 'global-job', 'busybox:1']);
  assert.deepEqual((sentPost(globalJob.server).body as { Mode: unknown }).Mode, { GlobalJob: {} });
});

test('service create without -d polls as docker does until converged, then verifies for Monitor', async () => {
  const exchanges = recorded('service create web (full flags, default detach)');
  const tasksUrl = exchanges.find((e) => e.url.startsWith('/v1.41/tasks'))!.url;
  const lastTasks = exchanges.filter((e) => e.url.startsWith('/v1.41/tasks')).at(-1)!;
  // The recording stops after three polls (tasks still starting); from then on the tasks run.
  const replay = [...exchanges, tasksAnswer(tasksUrl, lastTasks, 'running')];
  const started = Date.now();
  const { code, stdout, stderr, server } = await berthAgainst(replay, ['service', 'create', ...CREATE_FLAGS, ...CREATE_ARGS]);
  assert.equal(code, 0, stderr);
  const sent = server.sent();
  assert.deepEqual(sent.slice(0, 12), exchanges.slice(0, 12).map(describeExchange));
  const poll = [`GET /services/${WEB}?insertDefaults=false`, `GET /tasks?filters=${UP_TO_DATE}`, 'GET /nodes'];
  assert.deepEqual(sent.slice(3, 6), poll);
  // Every round is the same three GETs; the last one is the service read that found it verified.
  const rounds = sent.slice(3);
  for (let i = 0; i < rounds.length - 1; i++) assert.equal(rounds[i], poll[i % 3], `request ${i + 3}`);
  assert.equal(rounds.at(-1), poll[0]);
  // 5 s of verification (Monitor) after convergence, polling every 200 ms.
  assert.ok(Date.now() - started >= 5000);
  assert.ok(rounds.length / 3 >= 20, `${rounds.length / 3} rounds`);
  const lines = stdout.split('\n');
  assert.equal(lines[0], WEB);
  for (const expected of [
    'overall progress: 0 out of 3 tasks',
    '1/3:  ',
    '2/3:  ',
    '3/3:  ',
    'overall progress: 3 out of 3 tasks',
    'verify: Waiting 5 seconds to verify that tasks are stable...',
    'verify: Waiting 1 seconds to verify that tasks are stable...',
  ]) {
    assert.ok(lines.includes(expected), `missing ${JSON.stringify(expected)} in:\n${stdout}`);
  }
  assert.equal(lines.at(-2), `verify: Service ${WEB} converged`);
  assert.equal(lines.at(-1), '');
  // Not a terminal: no bars, no escape sequences, and no line repeated back to back.
  assert.doesNotMatch(stdout, /\x1b|\[=*>/);
  for (let i = 1; i < lines.length; i++) assert.notEqual(lines[i], lines[i - 1]);
});

test('service create without -d gives up after --timeout with a clear message (exit 1)', async () => {
  // Replayed as recorded, the tasks never get past "starting".
  const exchanges = recorded('service create web (full flags, default detach)');
  const { code, stdout, stderr, server } = await berthAgainst(exchanges, ['service', 'create', '--timeout', '1s', ...CREATE_FLAGS, ...CREATE_ARGS]);
  assert.equal(code, 1);
  assert.match(stdout, /^lwek99lcsh1q40f3mtsndgmty\noverall progress: 0 out of 3 tasks\n/);
  assert.match(stderr, /berth: service lwek99lcsh1q40f3mtsndgmty did not converge within 1s \(0 of 3 tasks running\); the change goes on in the background: see `berth service ps lwek99lcsh1q40f3mtsndgmty`\n$/);
  assert.ok(server.sent().length >= 12);
});

test('service create -q waits without printing progress', async () => {
  const exchanges = recorded('service create web (full flags, default detach)');
  const tasksUrl = exchanges.find((e) => e.url.startsWith('/v1.41/tasks'))!.url;
  const lastTasks = exchanges.filter((e) => e.url.startsWith('/v1.41/tasks')).at(-1)!;
  const replay = [...exchanges.slice(0, 3), ...exchanges.slice(3).map((e) => (e.url.startsWith('/v1.41/services/') ? quickMonitor(e) : e)), tasksAnswer(tasksUrl, lastTasks, 'running')];
  const { code, stdout, server } = await berthAgainst(replay, ['service', 'create', '-q', ...CREATE_FLAGS, ...CREATE_ARGS]);
  assert.equal(code, 0);
  assert.equal(stdout, `${WEB}\n`);
  assert.ok(server.sent().length > 12);
});

// ---------------------------------------------------------------------------------------------
// ls, ps, inspect

test('service ls sends GET /services?status=true and prints docker\'s table', async () => {
  const exchanges = recorded('service ls');
  const { code, stdout, server } = await berthAgainst(exchanges, ['service', 'ls']);
  assert.equal(code, 0);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.equal(
    stdout,
    'ID             NAME      MODE         REPLICAS   IMAGE            PORTS\n' +
      'lwek99lcsh1q   web       replicated   3/3        localbusybox:1   *:8080->8080/tcp\n',
  );
});

test('service ls of a global service; -q asks without status and prints short IDs; --format json', async () => {
  const global = await berthAgainst(recorded('service ls (global)'), ['service', 'ls']);
  assert.match(global.stdout.split('\n')[1], /^kb3rlgdzl6t5\s+glob\s+global\s+1\/1\s+localbusybox:1\s*$/);
  const quiet = await berthAgainst(recorded('service ls'), ['service', 'ls', '-q']);
  assert.deepEqual(quiet.server.sent(), ['HEAD /_ping', 'GET /services']);
  assert.equal(quiet.stdout, 'lwek99lcsh1q\n');
  const asJson = await berthAgainst(recorded('service ls'), ['service', 'ls', '--format', 'json', '-f', 'name=web']);
  assert.equal((JSON.parse(asJson.stdout) as { ID: string }[])[0].ID, WEB);
  assert.deepEqual(JSON.parse(asJson.server.requests[1].query.filters), { name: { web: true } });
});

test('service ps resolves the service as docker does, then lists its tasks by slot', async () => {
  const exchanges = recorded('service ps web');
  const { code, stdout, server } = await berthAgainst(exchanges, ['service', 'ps', 'web']);
  assert.equal(code, 0);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  const lines = stdout.trimEnd().split('\n');
  assert.deepEqual(lines[0].split(/\s{2,}/), ['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR', 'PORTS']);
  const rows = lines.slice(1).map((l) => l.split(/\s{2,}/));
  assert.deepEqual(
    rows.map((r) => r.slice(0, 5)),
    [
      ['up65zh9g5ecl', 'web.1', 'localbusybox:1', 'vm', 'Running'],
      ['t4x3h8twrn29', 'web.2', 'localbusybox:1', 'vm', 'Running'],
      ['lh2sy20t4us2', 'web.3', 'localbusybox:1', 'vm', 'Running'],
    ],
  );
  assert.match(rows[0][5], /^Running .+ ago$/);
});

test('service ps shows an earlier task of a slot indented under the current one', async () => {
  const exchanges = recorded('service ps web');
  const tasksExchange = exchanges.find((e) => e.url.startsWith('/v1.41/tasks'))!;
  const tasks = JSON.parse(tasksExchange.resBody!) as { ID: string; Slot: number; CreatedAt: string; DesiredState: string; Status: { State: string; Err?: string } }[];
  const old = structuredClone(tasks.find((t) => t.Slot === 1)!);
  Object.assign(old, { ID: 'oldtask0000000000000000000', CreatedAt: '2020-01-01T00:00:00Z', DesiredState: 'shutdown' });
  Object.assign(old.Status, { State: 'failed', Err: 'task: non-zero exit (1)' });
  const replay = exchanges.map((e) => (e === tasksExchange ? { ...e, resBody: JSON.stringify([...tasks, old]) } : e));
  const { code, stdout } = await berthAgainst(replay, ['service', 'ps', 'web']);
  assert.equal(code, 0);
  const rows = stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/\s{2,}/));
  assert.deepEqual(rows[1].slice(0, 5), ['oldtask00000', '\\_ web.1', 'localbusybox:1', 'vm', 'Shutdown']);
  assert.equal(rows[1][6], '"task: non-zero exit (1)"');
});

test('service ps of a missing service: no such service, exit 1', async () => {
  const exchanges = recorded('service ps missing');
  const { code, stdout, stderr, server } = await berthAgainst(exchanges, ['service', 'ps', 'nosuch']);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.equal(stderr, 'berth: no such service: nosuch\n');
});

test('service inspect asks with insertDefaults=true and prints a JSON list', async () => {
  const exchanges = recorded('service inspect web');
  const { code, stdout, server } = await berthAgainst(exchanges, ['service', 'inspect', 'web']);
  assert.equal(code, 0);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  const services = JSON.parse(stdout) as { ID: string; Spec: { RollbackConfig: unknown } }[];
  assert.equal(services.length, 1);
  assert.equal(services[0].ID, WEB);
  assert.ok(services[0].Spec.RollbackConfig);
});

test('service inspect --pretty prints docker\'s template', async () => {
  const exchanges = recorded('service inspect --pretty web');
  const { code, stdout, server } = await berthAgainst(exchanges, ['service', 'inspect', '--pretty', 'web']);
  assert.equal(code, 0);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.equal(
    stdout,
    [
      '',
      `ID:\t\t${WEB}`,
      'Name:\t\tweb',
      'Labels:',
      ' x=y',
      'Service Mode:\tReplicated',
      ' Replicas:\t3',
      'Placement:',
      ' Constraints:\t[node.role==manager]',
      'UpdateConfig:',
      ' Parallelism:\t2',
      ' On failure:\tpause',
      ' Monitoring Period: 5s',
      ' Max failure ratio: 0',
      ' Update order:      stop-first',
      'RollbackConfig:',
      ' Parallelism:\t1',
      ' On failure:\tpause',
      ' Monitoring Period: 5s',
      ' Max failure ratio: 0',
      ' Rollback order:    stop-first',
      'ContainerSpec:',
      ' Image:\t\tlocalbusybox:1',
      ' Args:\t\thttpd -f -p 8080 ',
      ' Env:\t\tA=1 ',
      ' Init:\t\tfalse',
      'Resources:',
      ' Reservations:',
      '  CPU:\t\t0.1',
      ' Limits:',
      '  Memory:\t64MiB',
      'Endpoint Mode:\tvip',
      'Ports:',
      ' PublishedPort = 8080',
      '  Protocol = tcp',
      '  TargetPort = 8080',
      '  PublishMode = ingress ',
      '',
    ].join('\n'),
  );
});

test('service inspect of a missing service: [] and docker\'s "no such service", exit 1', async () => {
  const exchanges = recorded('service inspect missing');
  const { code, stdout, stderr, server } = await berthAgainst(exchanges, ['service', 'inspect', 'nosuch']);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.equal(code, 1);
  assert.equal(stdout, '[]\n');
  assert.equal(stderr, 'Error: no such service: nosuch\n');
});

// ---------------------------------------------------------------------------------------------
// scale, update, rollback, rm

test('service scale web=5 -d: read at insertDefaults=false, post the stored spec with Replicas 5', async () => {
  const exchanges = recorded('service scale web=5');
  const { code, stdout, server } = await berthAgainst(exchanges, ['service', 'scale', '-d', 'web=5']);
  assert.equal(code, 0);
  assert.equal(stdout, 'web scaled to 5\n');
  assert.deepEqual(server.sent(), exchanges.slice(0, 3).map(describeExchange));
  assert.deepEqual(server.sent().slice(1), ['GET /services/web?insertDefaults=false', `POST /services/${WEB}/update?version=32`]);
  assert.equal(sentPost(server).raw, exchanges[2].reqBody);
});

test('service scale -d of the recorded dsvc=1 sends docker\'s body', async () => {
  const exchanges = recorded('service scale -d multi');
  const { code, stdout, server } = await berthAgainst(exchanges, ['service', 'scale', '-d', 'dsvc=1']);
  assert.equal(code, 0);
  assert.equal(stdout, 'dsvc scaled to 1\n');
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.equal(sentPost(server).raw, exchanges[2].reqBody);
});

test('service scale without -d polls the service by the name it was given until 5 of 5 run', async () => {
  const exchanges = recorded('service scale web=5');
  const tasksUrl = exchanges.find((e) => e.url.startsWith('/v1.41/tasks'))!.url;
  const template = recorded('service create web (full flags, default detach)').filter((e) => e.url.startsWith('/v1.41/tasks')).at(-1)!;
  // The recorded task lists of this command were cut short (not valid JSON): stand-ins with 5 tasks.
  const replay = [
    ...exchanges.slice(0, 3),
    ...exchanges.slice(3).filter((e) => e.url.startsWith('/v1.41/services/') || e.url === '/v1.41/nodes').map((e) => (e.url.startsWith('/v1.41/services/') ? quickMonitor(e) : e)),
    tasksAnswer(tasksUrl, template, 'starting', 5),
    tasksAnswer(tasksUrl, template, 'running', 5),
  ];
  const { code, stdout, stderr, server } = await berthAgainst(replay, ['service', 'scale', 'web=5']);
  assert.equal(code, 0, stderr);
  assert.deepEqual(server.sent().slice(0, 6), exchanges.slice(0, 6).map(describeExchange));
  assert.match(stdout, /^web scaled to 5\noverall progress: 0 out of 5 tasks\n1\/5:  \n/);
  assert.match(stdout, /overall progress: 5 out of 5 tasks\n/);
  assert.match(stdout, /verify: Service web converged\n$/);
});

test('service scale: usage errors for a bad specifier, per-service errors for the rest', async () => {
  const usage = await berthAgainst(recorded('service scale web=5'), ['service', 'scale', 'web']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^berth: invalid scale specifier 'web'/);
  assert.deepEqual(usage.server.sent(), []);
  const bad = await berthAgainst(recorded('service scale web=5'), ['service', 'scale', '-d', 'web=x', 'web=5']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, 'web scaled to 5\n');
  assert.match(bad.stderr, /^berth: web: invalid replicas value x/);
});

test('service update --image --force -d: the stored spec, ForceUpdate+1, image resolved, registryAuthFrom=spec', async () => {
  const exchanges = recorded('service update --image --force web');
  const { code, stdout, server } = await berthAgainst(exchanges, ['service', 'update', '-d', '--image', 'localbusybox:1', '--force', 'web']);
  assert.equal(code, 0);
  assert.equal(stdout, 'web\n');
  assert.deepEqual(server.sent(), exchanges.slice(0, 4).map(describeExchange));
  assert.deepEqual(server.sent().slice(1), [
    'GET /services/web?insertDefaults=false',
    'GET /distribution/localbusybox:1/json',
    `POST /services/${WEB}/update?registryAuthFrom=spec&version=40`,
  ]);
  assert.equal(sentPost(server).raw, exchanges[3].reqBody);
});

test('service update --env-add and --replicas send docker\'s bodies, without a distribution query', async () => {
  const env = recorded('service update --env-add B=2 web');
  const a = await berthAgainst(env, ['service', 'update', '-d', '--env-add', 'B=2', 'web']);
  assert.equal(a.code, 0);
  assert.deepEqual(a.server.sent(), env.slice(0, 3).map(describeExchange));
  assert.equal(sentPost(a.server).raw, env[2].reqBody);
  const replicas = recorded('service update -d --replicas');
  const b = await berthAgainst(replicas, ['service', 'update', '-d', '--replicas', '3', 'dsvc']);
  assert.equal(b.code, 0);
  assert.equal(b.stdout, 'dsvc\n');
  assert.deepEqual(b.server.sent(), replicas.map(describeExchange));
  assert.equal(sentPost(b.server).raw, replicas[2].reqBody);
});

test('service update applies the -add/-rm flags and the shared flags as docker does', async () => {
  const exchanges = recorded('service update --env-add B=2 web');
  const { code, stderr, server } = await berthAgainst(exchanges, [
    'service', 'update', '-d', '--env-rm', 'A', '--env-add', 'C=3', '--label-add', 'z=1', '--label-rm', 'x', '--constraint-rm', 'node.role==manager',
    '--constraint-add', 'node.labels.zone==a', '--publish-rm', '8080', '--publish-add', '9090:90', '--limit-cpu', '2', '--update-delay', '5s',
    '--restart-max-attempts', '4', '--args', 'sh -c "sleep 10"', '--no-init', 'web',
  ]);
  assert.equal(code, 0, stderr);
  const body = sentPost(server).body as {
    Labels: unknown;
    TaskTemplate: { ContainerSpec: { Env: string[]; Args: string[]; Init: boolean }; Placement: unknown; Resources: unknown; RestartPolicy: unknown };
    UpdateConfig: unknown;
    EndpointSpec: unknown;
  };
  assert.deepEqual(body.Labels, { z: '1' });
  assert.deepEqual(body.TaskTemplate.ContainerSpec.Env, ['C=3']);
  assert.deepEqual(body.TaskTemplate.ContainerSpec.Args, ['sh', '-c', 'sleep 10']);
  assert.equal(body.TaskTemplate.ContainerSpec.Init, false);
  assert.deepEqual(body.TaskTemplate.Placement, { Constraints: ['node.labels.zone==a'] });
  assert.deepEqual(body.TaskTemplate.Resources, { Limits: { MemoryBytes: 67108864, NanoCPUs: 2e9 }, Reservations: { NanoCPUs: 100000000 } });
  assert.deepEqual(body.TaskTemplate.RestartPolicy, { Condition: 'on-failure', Delay: 5e9, MaxAttempts: 4 });
  assert.deepEqual(body.UpdateConfig, { Parallelism: 2, Delay: 5e9, FailureAction: 'pause', Monitor: 5e9, MaxFailureRatio: 0, Order: 'stop-first' });
  assert.deepEqual(body.EndpointSpec, { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 90, PublishedPort: 9090, PublishMode: 'ingress' }] });
});

test('service update --rollback sends rollback=previous; with other flags it is a usage error', async () => {
  const exchanges = recorded('service update --env-add B=2 web');
  const ok = await berthAgainst(exchanges, ['service', 'update', '-d', '--rollback', 'web']);
  assert.equal(ok.code, 0);
  assert.equal(ok.server.sent()[2], `POST /services/${WEB}/update?registryAuthFrom=spec&rollback=previous&version=88`);
  const mixed = await berthAgainst(exchanges, ['service', 'update', '--rollback', '--force', 'web']);
  assert.equal(mixed.code, 2);
  assert.match(mixed.stderr, /^berth: other flags may not be combined with --rollback/);
  assert.deepEqual(mixed.server.sent(), []);
});

test('service rollback -d: the current spec back, with rollback=previous', async () => {
  const exchanges = recorded('service rollback web');
  const { code, stdout, server } = await berthAgainst(exchanges, ['service', 'rollback', '-d', 'web']);
  assert.equal(code, 0);
  assert.equal(stdout, 'web\n');
  assert.deepEqual(server.sent(), exchanges.slice(0, 3).map(describeExchange));
  assert.equal(sentPost(server).raw, exchanges[2].reqBody);
});

test('service rm removes each service in turn and prints its name', async () => {
  const exchanges = recorded('service rm web logsvc');
  const { code, stdout, server } = await berthAgainst(exchanges, ['service', 'rm', 'web', 'logsvc']);
  assert.equal(code, 0);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.equal(stdout, 'web\nlogsvc\n');
});

test('service rm of a missing service: the daemon\'s 404 message, exit 1', async () => {
  const exchanges = recorded('service rm missing');
  const { code, stdout, stderr, server } = await berthAgainst(exchanges, ['service', 'rm', 'nosuchsvc']);
  assert.deepEqual(server.sent(), exchanges.map(describeExchange));
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.equal(stderr, 'Error response from daemon: service nosuchsvc not found\n');
});

// ---------------------------------------------------------------------------------------------
// Usage errors: exit 2, a message naming the flag and the problem, nothing sent.

test('bad flag values are usage errors (exit 2) that say what is wrong, and nothing is sent', async () => {
  const cases: [string[], RegExp][] = [
    [['--restart-delay', '10x'], /option '--restart-delay <duration>' argument '10x' is invalid\. time: unknown unit "x" in duration "10x"/],
    [['--update-delay', '10'], /argument '10' is invalid\. time: missing unit in duration "10"/],
    [['--stop-grace-period', 'soon'], /argument 'soon' is invalid\. time: invalid duration "soon"/],
    [['--limit-memory', 'lots'], /option '--limit-memory <bytes>' argument 'lots' is invalid\. invalid size: 'lots'/],
    [['--reserve-memory', '1x'], /invalid size: '1x'/],
    [['--mode', 'sometimes'], /option '--mode <mode>' argument 'sometimes' is invalid\. Allowed choices are replicated, global, replicated-job, global-job/],
    [['-p', '80:http'], /option '-p, --publish <port>' argument '80:http' is invalid\. invalid containerPort: http/],
    [['-p', 'published=80,target=x'], /invalid target port \(x\): value must be an integer/],
    [['-p', 'target=80,mode=bridge'], /invalid publish mode value \(bridge\): must be either 'ingress' or 'host'/],
    [['-p', 'published=80'], /missing mandatory field 'target'/],
    [['--limit-cpu', 'two'], /failed to parse two as a rational number/],
    [['--replicas', '-1'], /option '--replicas <uint>' argument '-1' is invalid/],
    [['--placement-pref', 'pack=zone'], /unsupported placement preference pack \(only spread is supported\)/],
    [['--restart-condition', 'always'], /Allowed choices are none, on-failure, any/],
  ];
  for (const [flags, expected] of cases) {
    const { code, stdout, stderr, server } = await berthAgainst(recorded('service create --mode global'), ['service', 'create', ...flags, 'busybox']);
    assert.equal(code, 2, `${flags.join(' ')}: ${stderr}`);
    assert.equal(stdout, '');
    assert.match(stderr, /^berth: /);
    assert.match(stderr, expected);
    assert.match(stderr, /See 'berth service create --help'\./);
    assert.deepEqual(server.sent(), [], flags.join(' '));
  }
});

test('flag combinations docker refuses are usage errors too', async () => {
  for (const [flags, expected] of [
    [['--mode', 'global', '--replicas', '2'], /replicas can only be used with replicated or replicated-job mode/],
    [['--mode', 'global-job', '--update-parallelism', '2'], /update and rollback configuration is not supported for jobs/],
    [[], /missing required argument 'image'/],
  ] as const) {
    const { code, stderr, server } = await berthAgainst(recorded('service create --mode global'), ['service', 'create', ...flags, ...(flags.length ? ['busybox'] : [])]);
    assert.equal(code, 2, stderr);
    assert.match(stderr, expected);
    assert.deepEqual(server.sent(), []);
  }
});
