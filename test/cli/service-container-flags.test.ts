// The container flags of `berth service create|update` (--mount, --entrypoint, --health-*,
// --env-file, --group, --tty, --sysctl, --cap-*, --ulimit, --with-registry-auth): their parsing as
// docker/cli v28 parses them, and the bodies and headers `berth` sends to a replayed dockerd.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  effectiveCapabilities,
  parseInt64,
  parseMount,
  parsePositiveDuration,
  parseUlimit,
  readEnvFile,
  registryAuthFor,
  registryDomain,
  splitShellWords,
  updateCapabilities,
} from '../../cli/service-flags.js';
import { recorded, ReplayServer, type Exchange } from './replay-server.js';
import { berth, berthAgainst } from './run-berth.js';

const WEB = 'lwek99lcsh1q40f3mtsndgmty';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'berth-flags-'));
}

/** The CLI against the replayed daemon, never reading the real ~/.docker unless a test says so. */
function run(exchanges: Exchange[], args: string[], env: Record<string, string | undefined> = {}) {
  return berthAgainst(exchanges, args, { DOCKER_CONFIG: emptyDockerConfig, ...env });
}

/** No test reads the real ~/.docker: by default the docker config is an empty directory. */
const emptyDockerConfig = tempDir();
after(() => rmSync(emptyDockerConfig, { recursive: true, force: true }));

function sentPost(server: ReplayServer): { raw: string; body: Record<string, unknown>; headers: Record<string, unknown>; query: Record<string, string> } {
  const post = server.requests.find((r) => r.method === 'POST');
  assert.ok(post, 'berth sent a POST');
  return { raw: post.body, body: JSON.parse(post.body) as Record<string, unknown>, headers: post.headers, query: post.query };
}

type Json = Record<string, unknown>;

function containerSpecOf(body: Json): Json {
  return (body.TaskTemplate as { ContainerSpec: Json }).ContainerSpec;
}

/** The recorded `service update --env-add B=2 web` with the stored ContainerSpec changed by `edit`. */
function updateReplay(edit: (cspec: Json) => void): Exchange[] {
  const exchanges = recorded('service update --env-add B=2 web');
  const get = exchanges.find((e) => e.method === 'GET' && e.url.startsWith('/v1.41/services/web'))!;
  const svc = JSON.parse(get.resBody!) as { Spec: { TaskTemplate: { ContainerSpec: Json } } };
  edit(svc.Spec.TaskTemplate.ContainerSpec);
  return exchanges.map((e) => (e === get ? { ...e, resBody: JSON.stringify(svc) } : e));
}

// ---------------------------------------------------------------------------------------------
// Parsing, as docker parses.

test('--mount: docker\'s CSV keys and defaults, in mount.Mount\'s JSON shape', () => {
  // No type: a volume. Keys are case-insensitive; src/dst/destination are aliases.
  assert.deepEqual(parseMount('source=xvol,target=/data'), { Type: 'volume', Source: 'xvol', Target: '/data' });
  assert.deepEqual(parseMount('Type=BIND,Src=/srv/www,Destination=/usr/share/html,readonly,bind-propagation=rshared'), {
    Type: 'bind',
    Source: '/srv/www',
    Target: '/usr/share/html',
    ReadOnly: true,
    BindOptions: { Propagation: 'rshared' },
  });
  assert.deepEqual(parseMount('type=bind,source=/a,dst=/b,ro=false'), { Type: 'bind', Source: '/a', Target: '/b' });
  // Volume options: DriverConfig is always written once any volume-* option is given; maps sorted.
  assert.deepEqual(parseMount('type=volume,source=v,target=/v,volume-nocopy'), { Type: 'volume', Source: 'v', Target: '/v', VolumeOptions: { NoCopy: true, DriverConfig: {} } });
  assert.deepEqual(
    parseMount('type=volume,source=v,target=/v,volume-label=z=1,volume-label=a=2,volume-driver=local,volume-opt=type=nfs,volume-opt=device=:/export,volume-nocopy=true'),
    {
      Type: 'volume',
      Source: 'v',
      Target: '/v',
      VolumeOptions: { NoCopy: true, Labels: { a: '2', z: '1' }, DriverConfig: { Name: 'local', Options: { device: ':/export', type: 'nfs' } } },
    },
  );
  assert.deepEqual(Object.keys(parseMount('volume-opt=o=1,volume-label=l=1,target=/v').VolumeOptions!), ['Labels', 'DriverConfig']);
  // tmpfs: go-units sizes, an octal mode.
  assert.deepEqual(parseMount('type=tmpfs,target=/run/cache,tmpfs-size=64m,tmpfs-mode=1770'), {
    Type: 'tmpfs',
    Target: '/run/cache',
    TmpfsOptions: { SizeBytes: 64 * 1024 * 1024, Mode: 0o1770 },
  });
  // A relative source starting with "." is made absolute on the client, as docker does.
  assert.equal(parseMount('type=bind,source=./data,target=/data').Source, resolve('./data'));
  assert.equal(parseMount('source=data,target=/data').Source, 'data');
  // CSV quoting: a comma inside a quoted field.
  assert.deepEqual(parseMount('"type=bind","source=/a,b",target=/c'), { Type: 'bind', Source: '/a,b', Target: '/c' });
});

test('--mount: bad values say what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['type=bind,source=/a', /^target is required$/],
    ['type=,target=/a', /^type is required$/],
    ['target=/a,rw', /^invalid field 'rw' must be a key=value pair$/],
    ['target=/a,size=1', /^unexpected key 'size' in 'size=1'$/],
    ['target=/a,readonly=maybe', /^invalid value for readonly: maybe$/],
    ['type=bind,source=/a,target=/b,volume-nocopy', /^cannot mix 'volume-\*' options with mount type 'bind'$/],
    ['type=volume,target=/b,bind-propagation=shared', /^cannot mix 'bind-\*' options with mount type 'volume'$/],
    ['target=/b,tmpfs-size=1m', /^cannot mix 'tmpfs-\*' options with mount type 'volume'$/],
    ['type=tmpfs,target=/b,tmpfs-size=lots', /^invalid value for tmpfs-size: lots$/],
    ['type=tmpfs,target=/b,tmpfs-mode=0x1ff', /^invalid value for tmpfs-mode: 0x1ff$/],
    ['type=bind,source=/a,target=/b,bind-propagation=sideways', /^invalid value for bind-propagation: sideways/],
    ['type=npipe,source=x,target=/b', /^mount type 'npipe' is not supported: berth runs bind, volume and tmpfs mounts$/],
    ['type=bind,source=/a"b,target=/c', /bare " in non-quoted-field/],
    ['', /^EOF$/],
  ];
  for (const [value, expected] of cases) assert.throws(() => parseMount(value), (err: Error) => expected.test(err.message), value);
});

test('--health-* durations are Go durations in nanoseconds, never negative; --health-retries is an int', () => {
  assert.equal(parsePositiveDuration('30s'), 30e9);
  assert.equal(parsePositiveDuration('1m30s'), 90e9);
  assert.equal(parsePositiveDuration('250ms'), 250e6);
  assert.equal(parsePositiveDuration('0'), 0);
  assert.throws(() => parsePositiveDuration('-1s'), /duration cannot be negative/);
  assert.throws(() => parsePositiveDuration('10'), /missing unit in duration "10"/);
  assert.throws(() => parsePositiveDuration('soon'), /invalid duration "soon"/);
  assert.equal(parseInt64('3'), 3);
  assert.equal(parseInt64('-2'), -2);
  assert.equal(parseInt64('0x10'), 16);
  assert.throws(() => parseInt64('three'), /strconv.ParseInt: parsing "three": invalid syntax/);
});

test('--entrypoint and --args are split into words as google/shlex splits them', () => {
  assert.deepEqual(splitShellWords('/bin/sh -c "echo $HOME; exit 3"'), ['/bin/sh', '-c', 'echo $HOME; exit 3']);
  assert.deepEqual(splitShellWords(`python3  -u\t'my app.py'`), ['python3', '-u', 'my app.py']);
  assert.deepEqual(splitShellWords('a\\ b "c\\"d" e\'f\'g'), ['a b', 'c"d', 'efg']);
  assert.deepEqual(splitShellWords('""'), ['']);
  assert.deepEqual(splitShellWords(''), []);
  // A # starting a word comments out the rest of the line; inside a word it is a character.
  assert.deepEqual(splitShellWords('run #comment\nnext a#b'), ['run', 'next', 'a#b']);
  assert.throws(() => splitShellWords('sh -c "unclosed'), /EOF found when expecting closing quote/);
  assert.throws(() => splitShellWords("it's"), /EOF found when expecting closing quote/);
  assert.throws(() => splitShellWords('trailing\\'), /EOF found after escape character/);
});

test('--env-file: lines as they are, comments and blanks skipped, bare keys from the environment', () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'app.env');
    writeFileSync(
      file,
      '\uFEFF# settings\nA=1\n\n   B=two words  \r\nC=\nQUOTED="kept"\nFROM_ENV\nUNSET_HERE\n\t# indented comment\nD=x=y',
    );
    assert.deepEqual(readEnvFile(file, { FROM_ENV: 'yes' }), ['A=1', 'B=two words  ', 'C=', 'QUOTED="kept"', 'FROM_ENV=yes', 'D=x=y']);

    const bad: [string, RegExp][] = [
      ['=1\n', /^invalid env file \(.*\): no variable name on line '=1'$/],
      ['MY VAR=1\n', /^invalid env file \(.*\): variable 'MY VAR' contains whitespaces$/],
    ];
    for (const [content, expected] of bad) {
      writeFileSync(file, content);
      assert.throws(() => readEnvFile(file, {}), (err: Error) => expected.test(err.message), content);
    }
    writeFileSync(file, Buffer.from([0x41, 0x3d, 0xff, 0x0a]));
    assert.throws(() => readEnvFile(file, {}), /invalid utf8 bytes at line 1: \[65 61 255\]/);
    assert.throws(() => readEnvFile(join(dir, 'missing.env'), {}), /open .*missing\.env: no such file or directory/);
    assert.throws(() => readEnvFile(dir, {}), /is a directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--ulimit: name=soft[:hard] as go-units parses it', () => {
  assert.deepEqual(parseUlimit('nofile=1024'), { Name: 'nofile', Hard: 1024, Soft: 1024 });
  assert.deepEqual(parseUlimit('nofile=1024:2048'), { Name: 'nofile', Hard: 2048, Soft: 1024 });
  assert.deepEqual(parseUlimit('core=-1'), { Name: 'core', Hard: -1, Soft: -1 });
  assert.throws(() => parseUlimit('nofile'), /invalid ulimit argument: nofile/);
  assert.throws(() => parseUlimit('files=1'), /invalid ulimit type: files/);
  assert.throws(() => parseUlimit('nofile=2048:1024'), /soft limit must be less than or equal to hard limit: 2048 > 1024/);
  assert.throws(() => parseUlimit('nofile=1:2:3'), /too many limit value arguments/);
  assert.throws(() => parseUlimit('nofile=many'), /parsing "many": invalid syntax/);
});

test('--cap-add/--cap-drop: normalized and sorted; on update, RESET and the tri-state rules', () => {
  assert.deepEqual(effectiveCapabilities(['net_admin', ' CAP_SYS_TIME', 'net_admin'], ['chown', 'NET_ADMIN']), {
    add: ['CAP_NET_ADMIN', 'CAP_SYS_TIME'],
    drop: ['CAP_CHOWN'],
  });
  assert.deepEqual(effectiveCapabilities(['all', 'net_admin'], []), { add: ['ALL'], drop: [] });
  // Dropping an added capability stops adding it; adding a dropped one stops dropping it.
  assert.deepEqual(updateCapabilities({ add: ['CAP_NET_ADMIN'], drop: ['CAP_CHOWN'] }, { add: ['chown'], drop: ['net_admin', 'mknod'] }), {
    add: [],
    drop: ['CAP_MKNOD'],
  });
  assert.deepEqual(updateCapabilities({ add: ['CAP_NET_ADMIN'], drop: ['CAP_CHOWN'] }, { add: ['RESET', 'sys_time'] }), {
    add: ['CAP_SYS_TIME'],
    drop: ['CAP_CHOWN'],
  });
});

test('--with-registry-auth finds the credentials docker would use, and none when there are none', () => {
  const dir = tempDir();
  const config = (json: unknown): void => writeFileSync(join(dir, 'config.json'), typeof json === 'string' ? json : JSON.stringify(json));
  const decode = (value: string | undefined): unknown => (value === undefined ? undefined : JSON.parse(Buffer.from(value, 'base64url').toString('utf8')));
  const env = { DOCKER_CONFIG: dir };
  try {
    assert.equal(registryDomain('busybox'), 'docker.io');
    assert.equal(registryDomain('library/busybox:1'), 'docker.io');
    assert.equal(registryDomain('index.docker.io/library/busybox'), 'docker.io');
    assert.equal(registryDomain('registry.example:5000/team/app:2'), 'registry.example:5000');
    assert.equal(registryDomain('localhost/app'), 'localhost');

    // No config file at all: nothing to send.
    assert.equal(registryAuthFor('busybox', { env }), undefined);
    config({
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:s3cr3t:with:colons').toString('base64') },
        'registry.example:5000': { identitytoken: 'tok-123' },
        'https://legacy.example/v1/': { username: 'old', password: 'pw', email: 'old@example.com' },
      },
    });
    const hub = registryAuthFor('busybox:latest', { env });
    // base64url with padding, as Go's base64.URLEncoding.
    assert.match(hub!, /^[A-Za-z0-9_-]+=*$/);
    assert.equal(Buffer.from(hub!, 'base64url').toString('utf8'), '{"username":"hubuser","password":"s3cr3t:with:colons","serveraddress":"https://index.docker.io/v1/"}');
    assert.deepEqual(decode(registryAuthFor('registry.example:5000/team/app', { env })), { serveraddress: 'registry.example:5000', identitytoken: 'tok-123' });
    // A key written as a URL is found by its host name.
    assert.deepEqual(decode(registryAuthFor('legacy.example/app', { env })), {
      username: 'old',
      password: 'pw',
      email: 'old@example.com',
      serveraddress: 'https://legacy.example/v1/',
    });
    assert.equal(registryAuthFor('other.example/app', { env }), undefined);

    // A credential helper answers for its registry; "<token>" means an identity token.
    config({ auths: { 'registry.example:5000': {} }, credHelpers: { 'registry.example:5000': 'fake' }, credsStore: 'desktop' });
    const asked: string[] = [];
    const credentialHelper = (helper: string, server: string) => {
      asked.push(`${helper} ${server}`);
      return helper === 'fake' ? { Username: '<token>', Secret: 'refresh-me' } : undefined;
    };
    assert.deepEqual(decode(registryAuthFor('registry.example:5000/app', { env, credentialHelper })), {
      serveraddress: 'registry.example:5000',
      identitytoken: 'refresh-me',
    });
    assert.equal(registryAuthFor('busybox', { env, credentialHelper }), undefined);
    assert.deepEqual(asked, ['fake registry.example:5000', 'desktop https://index.docker.io/v1/']);

    // A broken file is an error that does not quote it (it may hold secrets).
    config('{"auths": {"x": {"auth": "c2VjcmV0"}');
    assert.throws(
      () => registryAuthFor('busybox', { env }),
      (err: Error) => /config\.json is not valid JSON$/.test(err.message) && !err.message.includes('c2VjcmV0'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// create

test('service create --mount sends docker\'s recorded Mounts, byte for byte', async () => {
  // Recorded with --secret, --config and --network too, which berth does not have yet: those
  // fields are taken out of docker's body; the rest must read exactly as docker wrote it.
  const exchanges = recorded('service create -d with secret/config/network/mount');
  const { code, stderr, server } = await run(exchanges, [
    'service', 'create', '-d', '--name', 'xsvc', '--hostname', '{{.Service.Name}}-{{.Task.Slot}}', '--stop-grace-period', '1s',
    '--mount', 'type=volume,source=xvol,target=/data', 'localbusybox:1', 'sleep', '3600',
  ]);
  assert.equal(code, 0, stderr);
  const docker = JSON.parse(exchanges.find((e) => e.method === 'POST')!.reqBody!) as { TaskTemplate: { ContainerSpec: Json } & Json };
  delete docker.TaskTemplate.ContainerSpec.Secrets;
  delete docker.TaskTemplate.ContainerSpec.Configs;
  delete docker.TaskTemplate.Networks;
  assert.equal(sentPost(server).raw, `${JSON.stringify(docker)}\n`);
});

test('service create with the container flags builds docker\'s ContainerSpec, in Go\'s field order', async () => {
  const dir = tempDir();
  try {
    const envFile = join(dir, 'app.env');
    writeFileSync(envFile, '# app\nA=from-file\nB=2\n');
    const other = join(dir, 'other.env');
    writeFileSync(other, 'C=3\n');
    const { code, stderr, server } = await run(recorded('service create --mode global'), [
      'service', 'create', '-d', '--no-resolve-image', '--name', 'app',
      '--entrypoint', '/bin/sh -c', '-w', '/srv', '-u', 'app:app', '--group', 'video', '--group', 'audio', '-t',
      '-e', 'A=from-flag', '--env-file', envFile, '--env-file', other,
      '--mount', 'type=bind,source=/srv/www,target=/www,readonly', '--mount', 'type=tmpfs,target=/cache,tmpfs-size=64m',
      '--health-cmd', 'wget -q -O- http://localhost/ || exit 1', '--health-interval', '30s', '--health-timeout', '5s',
      '--health-retries', '3', '--health-start-period', '1m',
      '--sysctl', 'net.ipv4.ip_forward=1', '--sysctl', 'net.core.somaxconn=1024',
      '--cap-add', 'net_admin', '--cap-drop', 'chown', '--ulimit', 'nofile=1024:2048', '--ulimit', 'core=0',
      'busybox:1', 'echo hi',
    ]);
    assert.equal(code, 0, stderr);
    const cspec = containerSpecOf(sentPost(server).body);
    assert.deepEqual(cspec, {
      Image: 'busybox:1',
      Command: ['/bin/sh', '-c'],
      Args: ['echo hi'],
      // The env files' variables first, then -e, a later KEY replacing an earlier one.
      Env: ['B=2', 'C=3', 'A=from-flag'],
      Dir: '/srv',
      User: 'app:app',
      Groups: ['video', 'audio'],
      Init: false,
      TTY: true,
      Mounts: [
        { Type: 'bind', Source: '/srv/www', Target: '/www', ReadOnly: true },
        { Type: 'tmpfs', Target: '/cache', TmpfsOptions: { SizeBytes: 67108864 } },
      ],
      Healthcheck: { Test: ['CMD-SHELL', 'wget -q -O- http://localhost/ || exit 1'], Interval: 30e9, Timeout: 5e9, StartPeriod: 60e9, Retries: 3 },
      DNSConfig: {},
      Sysctls: { 'net.core.somaxconn': '1024', 'net.ipv4.ip_forward': '1' },
      CapabilityAdd: ['CAP_NET_ADMIN'],
      CapabilityDrop: ['CAP_CHOWN'],
      Ulimits: [
        { Name: 'core', Hard: 0, Soft: 0 },
        { Name: 'nofile', Hard: 2048, Soft: 1024 },
      ],
    });
    // deepEqual ignores key order; the wire does not.
    assert.deepEqual(Object.keys(cspec), [
      'Image', 'Command', 'Args', 'Env', 'Dir', 'User', 'Groups', 'Init', 'TTY', 'Mounts', 'Healthcheck', 'DNSConfig', 'Sysctls', 'CapabilityAdd', 'CapabilityDrop', 'Ulimits',
    ]);
    assert.deepEqual(Object.keys(cspec.Healthcheck as Json), ['Test', 'Interval', 'Timeout', 'StartPeriod', 'Retries']);
    assert.deepEqual(Object.keys(cspec.Sysctls as Json), ['net.core.somaxconn', 'net.ipv4.ip_forward']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('service create: --no-healthcheck is Test ["NONE"]; a lone --health-* flag sets only its field; an empty --entrypoint is left out', async () => {
  const exchanges = recorded('service create --mode global');
  const none = await run(exchanges, ['service', 'create', '-d', '--no-resolve-image', '--no-healthcheck', 'busybox']);
  assert.equal(none.code, 0, none.stderr);
  assert.ok(sentPost(none.server).raw.includes('"Init":false,"Healthcheck":{"Test":["NONE"]},"DNSConfig":{}'), sentPost(none.server).raw);
  assert.deepEqual(containerSpecOf(sentPost(none.server).body).Healthcheck, { Test: ['NONE'] });
  const retries = await run(exchanges, ['service', 'create', '-d', '--no-resolve-image', '--health-retries', '5', '--entrypoint', '', 'busybox']);
  const cspec = containerSpecOf(sentPost(retries.server).body);
  assert.deepEqual(cspec.Healthcheck, { Retries: 5 });
  assert.equal('Command' in cspec, false);
  // Set to zero, a pointer Go still writes: an empty Healthcheck object.
  const zero = await run(exchanges, ['service', 'create', '-d', '--no-resolve-image', '--health-interval', '0s', 'busybox']);
  assert.deepEqual(containerSpecOf(sentPost(zero.server).body).Healthcheck, {});
  // Without any of these flags none of their fields is sent.
  const plain = await run(exchanges, ['service', 'create', '-d', '--no-resolve-image', 'busybox']);
  assert.deepEqual(Object.keys(containerSpecOf(sentPost(plain.server).body)), ['Image', 'Init', 'DNSConfig']);
});

test('service create: bad container flag values are usage errors naming the flag, and nothing is sent', async () => {
  const dir = tempDir();
  const badEnvFile = join(dir, 'bad.env');
  writeFileSync(badEnvFile, 'GOOD=1\nBAD KEY=2\n');
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: [string[], RegExp][] = [
    [['--mount', 'type=bind,source=/a'], /option '--mount <mount>' argument 'type=bind,source=\/a' is invalid\. target is required/],
    [['--mount', 'type=volume,target=/a,tmpfs-size=1m'], /--mount <mount>.*cannot mix 'tmpfs-\*' options with mount type 'volume'/],
    [['--health-interval', '-5s'], /option '--health-interval <duration>' argument '-5s' is invalid\. duration cannot be negative/],
    [['--health-timeout', '5'], /option '--health-timeout <duration>' argument '5' is invalid\. time: missing unit in duration "5"/],
    [['--health-retries', 'many'], /option '--health-retries <int>' argument 'many' is invalid/],
    [['--env-file', badEnvFile], /option '--env-file <file>' argument '.*bad\.env' is invalid\. invalid env file \(.*bad\.env\): variable 'BAD KEY' contains whitespaces/],
    [['--ulimit', 'nofile=big'], /option '--ulimit <name=soft\[:hard\]>' argument 'nofile=big' is invalid/],
    [['--entrypoint', 'sh -c "oops'], /option '--entrypoint <command>' argument 'sh -c "oops' is invalid\. EOF found when expecting closing quote/],
    [['--no-healthcheck', '--health-cmd', 'true'], /--no-healthcheck conflicts with --health-\* options/],
  ];
  for (const [flags, expected] of cases) {
    const { code, stdout, stderr, server } = await run(recorded('service create --mode global'), ['service', 'create', ...flags, 'busybox']);
    assert.equal(code, 2, `${flags.join(' ')}: ${stderr}`);
    assert.equal(stdout, '');
    assert.match(stderr, /^berth: /);
    assert.match(stderr, expected);
    assert.deepEqual(server.sent(), [], flags.join(' '));
  }
  // Node 20 itself checks an --env-file argument anywhere on its command line (nodejs/node#54232)
  // and exits before berth runs when the file is missing: still a failure naming the file.
  const missing = await run(recorded('service create --mode global'), ['service', 'create', '--env-file', '/nonexistent/berth.env', 'busybox']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /\/nonexistent\/berth\.env: (no such file or directory|not found)/);
  assert.deepEqual(missing.server.sent(), []);
});

// ---------------------------------------------------------------------------------------------
// update

test('service update adds the container flags to the stored spec, in Go\'s field order', async () => {
  const { code, stderr, server } = await run(recorded('service update --env-add B=2 web'), [
    'service', 'update', '-d', '--entrypoint', 'tini --', '--mount-add', 'type=volume,source=zvol,target=/z', '--mount-add', 'type=bind,source=/a,target=/a',
    '--group-add', 'wheel', '--health-cmd', 'true', '--health-interval', '10s', '--tty', '--cap-add', 'sys_time', '--sysctl-add', 'kernel.shmmax=1',
    '--ulimit-add', 'nproc=64', 'web',
  ]);
  assert.equal(code, 0, stderr);
  const post = sentPost(server);
  assert.equal(post.query.registryAuthFrom, 'spec');
  assert.equal(post.headers['x-registry-auth'], undefined);
  const cspec = containerSpecOf(post.body);
  assert.deepEqual(cspec, {
    Image: 'localbusybox:1',
    Command: ['tini', '--'],
    Args: ['httpd', '-f', '-p', '8080'],
    Env: ['A=1'],
    Groups: ['wheel'],
    Init: false,
    TTY: true,
    // Sorted by source, then target, as docker's updateMounts leaves them.
    Mounts: [
      { Type: 'bind', Source: '/a', Target: '/a' },
      { Type: 'volume', Source: 'zvol', Target: '/z' },
    ],
    StopGracePeriod: 1e9,
    Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 10e9 },
    DNSConfig: {},
    Isolation: 'default',
    Sysctls: { 'kernel.shmmax': '1' },
    CapabilityAdd: ['CAP_SYS_TIME'],
    Ulimits: [{ Name: 'nproc', Hard: 64, Soft: 64 }],
  });
  assert.deepEqual(Object.keys(cspec), [
    'Image', 'Command', 'Args', 'Env', 'Groups', 'Init', 'TTY', 'Mounts', 'StopGracePeriod', 'Healthcheck', 'DNSConfig', 'Isolation', 'Sysctls', 'CapabilityAdd', 'Ulimits',
  ]);
});

test('service update removes and replaces: --mount-rm/-add by target, --group-rm, --no-healthcheck, --cap-drop, --sysctl-rm, --ulimit-rm, --no-tty', async () => {
  const replay = updateReplay((cspec) => {
    Object.assign(cspec, {
      Command: ['old-entry'],
      Groups: ['wheel', 'audio'],
      TTY: true,
      Mounts: [
        { Type: 'volume', Source: 'data', Target: '/data' },
        { Type: 'bind', Source: '/logs', Target: '/var/log', ReadOnly: true },
        { Type: 'tmpfs', Target: '/tmp' },
      ],
      Healthcheck: { Test: ['CMD-SHELL', 'old'], Interval: 5e9, StartInterval: 1e9 },
      Sysctls: { 'net.core.somaxconn': '1024', 'kernel.shmmax': '1' },
      CapabilityAdd: ['CAP_NET_ADMIN'],
      Ulimits: [
        { Name: 'nproc', Hard: 64, Soft: 64 },
        { Name: 'core', Hard: 0, Soft: 0 },
      ],
    });
  });
  const { code, stderr, server } = await run(replay, [
    'service', 'update', '-d', '--mount-rm', '/tmp', '--mount-add', 'type=volume,source=data2,target=/data', '--group-rm', 'wheel',
    '--no-healthcheck', '--cap-drop', 'net_admin', '--sysctl-rm', 'kernel.shmmax', '--ulimit-rm', 'nproc', '--no-tty', '--entrypoint', '', 'web',
  ]);
  assert.equal(code, 0, stderr);
  const cspec = containerSpecOf(sentPost(server).body);
  assert.equal('Command' in cspec, false);
  assert.deepEqual(cspec.Groups, ['audio']);
  assert.equal('TTY' in cspec, false);
  assert.deepEqual(cspec.Mounts, [
    { Type: 'bind', Source: '/logs', Target: '/var/log', ReadOnly: true },
    { Type: 'volume', Source: 'data2', Target: '/data' },
  ]);
  assert.deepEqual(cspec.Healthcheck, { Test: ['NONE'] });
  // Dropping a capability the service adds only stops adding it.
  assert.equal('CapabilityAdd' in cspec, false);
  assert.equal('CapabilityDrop' in cspec, false);
  assert.deepEqual(cspec.Sysctls, { 'net.core.somaxconn': '1024' });
  assert.deepEqual(cspec.Ulimits, [{ Name: 'core', Hard: 0, Soft: 0 }]);
});

test('service update --health-*: a disabled check comes back with only the given fields; an empty --health-cmd drops the test', async () => {
  const disabled = updateReplay((cspec) => Object.assign(cspec, { Healthcheck: { Test: ['NONE'] } }));
  const a = await run(disabled, ['service', 'update', '-d', '--health-interval', '5s', '--health-retries', '2', 'web']);
  assert.equal(a.code, 0, a.stderr);
  assert.deepEqual(containerSpecOf(sentPost(a.server).body).Healthcheck, { Interval: 5e9, Retries: 2 });
  const shell = updateReplay((cspec) => Object.assign(cspec, { Healthcheck: { Test: ['CMD-SHELL', 'old'], Timeout: 3e9, Retries: 4 } }));
  const b = await run(shell, ['service', 'update', '-d', '--health-cmd', '', '--health-retries', '0', 'web']);
  assert.equal(b.code, 0, b.stderr);
  assert.deepEqual(containerSpecOf(sentPost(b.server).body).Healthcheck, { Timeout: 3e9 });
});

test('service update: conflicting or duplicate flags are usage errors before anything is sent', async () => {
  for (const [flags, expected] of [
    [['--no-healthcheck', '--health-retries', '0'], /--no-healthcheck conflicts with --health-\* options/],
    [['--mount-add', 'type=volume,source=a,target=/x', '--mount-add', 'type=volume,source=b,target=/x'], /duplicate mount target/],
    [['--rollback', '--mount-rm', '/data'], /other flags may not be combined with --rollback/],
    [['--mount-add', 'target=/x,bogus=1'], /option '--mount-add <mount>' argument 'target=\/x,bogus=1' is invalid\. unexpected key 'bogus' in 'bogus=1'/],
    [['--ulimit-add', 'nofile'], /option '--ulimit-add <name=soft\[:hard\]>' argument 'nofile' is invalid\. invalid ulimit argument: nofile/],
  ] as const) {
    const { code, stderr, server } = await run(recorded('service update --env-add B=2 web'), ['service', 'update', '-d', ...flags, 'web']);
    assert.equal(code, 2, `${flags.join(' ')}: ${stderr}`);
    assert.match(stderr, expected);
    assert.deepEqual(server.sent(), [], flags.join(' '));
  }
});

// ---------------------------------------------------------------------------------------------
// --with-registry-auth

function dockerConfigWith(auths: Record<string, unknown>): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths }));
  return dir;
}

test('service create --with-registry-auth sends X-Registry-Auth on the distribution query and the create, and prints no secret', async () => {
  const dir = dockerConfigWith({ 'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hunter2').toString('base64') } });
  try {
    const exchanges = recorded('service create --mode global');
    const { code, stdout, stderr, server } = await run(exchanges, ['service', 'create', '-d', '--with-registry-auth', '--name', 'private', 'localbusybox:1'], {
      DOCKER_CONFIG: dir,
    });
    assert.equal(code, 0, stderr);
    assert.deepEqual(server.sent(), ['HEAD /_ping', 'GET /distribution/localbusybox:1/json', 'POST /services/create']);
    const expected = { username: 'hubuser', password: 'hunter2', serveraddress: 'https://index.docker.io/v1/' };
    for (const request of server.requests.slice(1)) {
      const header = request.headers['x-registry-auth'];
      assert.equal(typeof header, 'string', `${request.method} ${request.path}`);
      assert.deepEqual(JSON.parse(Buffer.from(header as string, 'base64url').toString('utf8')), expected);
    }
    // The body is the same as without the flag, and nothing printed holds the credentials.
    assert.equal(sentPost(server).headers['content-type'], 'application/json');
    assert.equal((sentPost(server).body as { Name: string }).Name, 'private');
    for (const output of [stdout, stderr]) {
      assert.doesNotMatch(output, /hunter2|hubuser/);
      assert.ok(!output.includes(server.requests[2].headers['x-registry-auth'] as string));
    }
    // No credentials stored for the registry: no header at all.
    const none = await run(exchanges, ['service', 'create', '-d', '--with-registry-auth', 'registry.example:5000/app'], { DOCKER_CONFIG: dir });
    assert.equal(none.code, 0, none.stderr);
    for (const request of none.server.requests) assert.equal(request.headers['x-registry-auth'], undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('service update --with-registry-auth sends the credentials instead of registryAuthFrom=spec', async () => {
  const dir = dockerConfigWith({ 'https://index.docker.io/v1/': { identitytoken: 'id-token-1' } });
  try {
    const exchanges = recorded('service update --image --force web');
    const { code, stdout, stderr, server } = await run(exchanges, ['service', 'update', '-d', '--with-registry-auth', '--image', 'localbusybox:1', 'web'], {
      DOCKER_CONFIG: dir,
    });
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'web\n');
    assert.deepEqual(server.sent().slice(1), ['GET /services/web?insertDefaults=false', 'GET /distribution/localbusybox:1/json', `POST /services/${WEB}/update?version=40`]);
    assert.equal(server.requests[1].headers['x-registry-auth'], undefined);
    for (const request of server.requests.slice(2)) {
      assert.deepEqual(JSON.parse(Buffer.from(request.headers['x-registry-auth'] as string, 'base64url').toString('utf8')), {
        serveraddress: 'https://index.docker.io/v1/',
        identitytoken: 'id-token-1',
      });
    }
    assert.doesNotMatch(stdout + stderr, /id-token-1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--with-registry-auth over tcp with --tlsverify: the request carrying the header is verified and sent like the rest', async () => {
  const dir = tempDir();
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const docker = dockerConfigWith({ 'https://index.docker.io/v1/': { auth: Buffer.from('tlsuser:tlspass').toString('base64') } });
  writeFileSync(file('leaf.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key');
  openssl('req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '1', '-subj', '/CN=ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', '-out', 'ca.crt');
  for (const leaf of ['daemon', 'client']) {
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${leaf}.key`);
    openssl('req', '-new', '-key', `${leaf}.key`, '-subj', `/CN=${leaf}`, '-out', `${leaf}.csr`);
    openssl('x509', '-req', '-in', `${leaf}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-sha256', '-extfile', 'leaf.ext', '-out', `${leaf}.crt`);
  }
  const server = await ReplayServer.start(recorded('service create --mode global'), {
    ca: readFileSync(file('ca.crt')),
    cert: readFileSync(file('daemon.crt')),
    key: readFileSync(file('daemon.key')),
  });
  try {
    const tls = ['--tlsverify', '--tlscacert', file('ca.crt'), '--tlscert', file('client.crt'), '--tlskey', file('client.key')];
    const { code, stdout, stderr } = await berth(['-H', server.host, ...tls, 'service', 'create', '-d', '--with-registry-auth', 'localbusybox:1'], { DOCKER_CONFIG: docker });
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^\w{25}\n$/);
    assert.deepEqual(server.sent(), ['HEAD /_ping', 'GET /distribution/localbusybox:1/json', 'POST /services/create']);
    const header = server.requests[2].headers['x-registry-auth'] as string;
    assert.deepEqual(JSON.parse(Buffer.from(header, 'base64url').toString('utf8')), { username: 'tlsuser', password: 'tlspass', serveraddress: 'https://index.docker.io/v1/' });
    assert.equal(server.requests[2].headers['content-type'], 'application/json');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(docker, { recursive: true, force: true });
  }
});

test('--with-registry-auth: the daemon\'s refusal reads as it does without the flag', async () => {
  const dir = dockerConfigWith({ 'https://index.docker.io/v1/': { auth: Buffer.from('u:p').toString('base64') } });
  try {
    const refused: Exchange[] = [
      ...recorded('service create --mode global').filter((e) => e.method !== 'POST'),
      { method: 'POST', url: '/v1.41/services/create', status: 400, resHeaders: { 'content-type': 'application/json' }, resBody: '{"message":"invalid mount target, must be an absolute path: data"}\n' },
    ];
    const args = ['service', 'create', '-d', '--no-resolve-image', '--mount', 'target=data', 'busybox'];
    const plain = await run(refused, args, { DOCKER_CONFIG: dir });
    const authed = await run(refused, [...args.slice(0, 3), '--with-registry-auth', ...args.slice(3)], { DOCKER_CONFIG: dir });
    assert.equal(typeof authed.server.requests.at(-1)!.headers['x-registry-auth'], 'string');
    assert.equal(plain.code, 1);
    assert.equal(plain.stderr, 'Error response from daemon: invalid mount target, must be an absolute path: data\n');
    assert.deepEqual([authed.code, authed.stdout, authed.stderr], [plain.code, plain.stdout, plain.stderr]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--with-registry-auth asks the configured credential helper, and sends nothing when it has nothing', async () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { 'https://index.docker.io/v1/': {} }, credsStore: 'berthtest' }));
    // The helper protocol: `get` reads the server address on stdin, answers JSON on stdout.
    const helper = join(dir, 'docker-credential-berthtest');
    writeFileSync(
      helper,
      '#!/bin/sh\nread server\nif [ "$server" = "https://index.docker.io/v1/" ] && [ -z "$BERTH_TEST_EMPTY" ]; then\n' +
        '  printf \'{"ServerURL":"%s","Username":"helperuser","Secret":"helpersecret"}\' "$server"\nelse\n  echo "credentials not found in native keychain"; exit 1\nfi\n',
      { mode: 0o755 },
    );
    const env = { DOCKER_CONFIG: dir, PATH: `${dir}:${process.env.PATH ?? ''}` };
    const args = ['service', 'create', '-d', '--no-resolve-image', '--with-registry-auth', 'localbusybox:1'];
    const found = await run(recorded('service create --mode global'), args, env);
    assert.equal(found.code, 0, found.stderr);
    assert.deepEqual(JSON.parse(Buffer.from(sentPost(found.server).headers['x-registry-auth'] as string, 'base64url').toString('utf8')), {
      username: 'helperuser',
      password: 'helpersecret',
      serveraddress: 'https://index.docker.io/v1/',
    });
    assert.doesNotMatch(found.stdout + found.stderr, /helpersecret/);
    const empty = await run(recorded('service create --mode global'), args, { ...env, BERTH_TEST_EMPTY: '1' });
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(sentPost(empty.server).headers['x-registry-auth'], undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
