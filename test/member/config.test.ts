import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, envName, MEMBER_FLAGS, parseMemberConfig, parseRetention, unknownEtcdVariables } from '../../src/member/config.ts'
import { MEMBER_FLAG_HELP, MEMBER_USAGE } from '../../src/member/member-usage.ts'
import { clusterIdFor, memberIdFor } from '../../src/member/identity.ts'

test('defaults: a single member on 127.0.0.1:2381 with data in ./data/<name>', () => {
  const c = parseMemberConfig([], {})
  assert.equal(c.name, 'default')
  assert.equal(c.dataDir, './data/default')
  assert.deepEqual(c.listenClientUrls, ['http://127.0.0.1:2381'])
  assert.deepEqual([...c.initialCluster], [['default', ['http://127.0.0.1:2381']]])
  assert.equal(c.heartbeatInterval, 100)
  assert.equal(c.electionTimeout, 1000)
  assert.equal(c.maxRequestBytes, 1572864)
  assert.equal(c.quotaBackendBytes, 2 * 1024 ** 3)
  assert.equal(c.autoPromote, false)
})

test('--quota-backend-bytes as etcd reads it: 0 is the default, a negative size turns the quota off', () => {
  const quota = (v: string): number => parseMemberConfig(['--quota-backend-bytes', v], {}).quotaBackendBytes
  assert.equal(quota('0'), 2 * 1024 ** 3)
  assert.equal(quota('-1'), -1)
  assert.equal(quota('1048576'), 1048576)
  assert.throws(() => quota('1e6'), /--quota-backend-bytes: expected a whole number, got "1e6"/)
})

test("a command line as Go's flag package reads it: one dash or two, a value that starts with a dash, booleans with =value", () => {
  const c = parseMemberConfig(['-name', 'm1', '--quota-backend-bytes', '-5', '-auto-promote=T', '--data-dir', '--d'], {})
  assert.deepEqual([c.name, c.quotaBackendBytes, c.autoPromote, c.dataDir], ['m1', -5, true, '--d'])
  assert.equal(parseMemberConfig(['--auto-promote=false'], { EDGECD_AUTO_PROMOTE: 'true' }).autoPromote, false, 'the flag wins')
  assert.equal(parseMemberConfig(['--auto-promote=false', '--auto-promote'], {}).autoPromote, true, 'the last one given wins')
  assert.throws(() => parseMemberConfig(['--auto-promote=maybe'], {}), /invalid boolean value "maybe" for -auto-promote: parse error/)
  assert.throws(() => parseMemberConfig(['--name'], {}), /flag needs an argument: -name/)
  assert.throws(() => parseMemberConfig(['--no-such-flag', 'x'], {}), ConfigError)
})

test('etcd flag names are read, and a flag wins over its EDGECD_ variable', () => {
  const c = parseMemberConfig(
    [
      '--name', 'm2',
      '--listen-client-urls', 'http://127.0.0.1:2382',
      '--initial-cluster', 'm1=http://127.0.0.1:2381,m2=http://127.0.0.1:2382',
      '--initial-cluster-state', 'existing',
      '--auto-compaction-mode', 'revision',
      '--auto-compaction-retention', '1000',
      '--auto-promote',
    ],
    { EDGECD_NAME: 'ignored', EDGECD_INITIAL_CLUSTER_TOKEN: 'tok', EDGECD_HEARTBEAT_INTERVAL: '50' },
  )
  assert.equal(c.name, 'm2')
  assert.equal(c.initialClusterToken, 'tok')
  assert.equal(c.heartbeatInterval, 50)
  assert.equal(c.initialClusterState, 'existing')
  assert.equal(c.initialCluster.size, 2)
  assert.equal(c.autoCompactionMode, 'revision')
  assert.equal(c.autoCompactionRetention, 1000)
  assert.equal(c.autoPromote, true)
  assert.equal(envName('initial-cluster-token'), 'EDGECD_INITIAL_CLUSTER_TOKEN')
})

test("etcd's usual command line: peers on their own URLs, clients on two", () => {
  const c = parseMemberConfig(
    [
      '--name', 'infra0',
      '--listen-peer-urls', 'http://10.0.1.10:2380',
      '--listen-client-urls', 'http://10.0.1.10:2379,http://127.0.0.1:2379',
      '--advertise-client-urls', 'http://10.0.1.10:2379',
      '--initial-cluster', 'infra0=http://10.0.1.10:2380,infra1=http://10.0.1.11:2380',
    ],
    {},
  )
  assert.deepEqual(c.listenPeerUrls, ['http://10.0.1.10:2380'])
  assert.deepEqual(c.listenClientUrls, ['http://10.0.1.10:2379', 'http://127.0.0.1:2379'])
  assert.deepEqual(c.initialAdvertisePeerUrls, ['http://10.0.1.10:2380'], 'the peer listen URLs are advertised by default')
  assert.equal(parseMemberConfig([], {}).listenPeerUrls, null, 'without the flag, peers share the client port')
  assert.deepEqual(parseMemberConfig([], { EDGECD_LISTEN_PEER_URLS: 'http://127.0.0.1:2480' }).initialCluster.get('default'), ['http://127.0.0.1:2480'])
})

test("etcd's ETCD_ variables are read after the flag and edgecd's own; one that names no flag is reported", () => {
  const env = { ETCD_NAME: 'e', ETCD_INITIAL_CLUSTER: 'e=http://127.0.0.1:2380', ETCD_HEARTBEAT_INTERVAL: '20', EDGECD_HEARTBEAT_INTERVAL: '30' }
  const c = parseMemberConfig(['--heartbeat-interval', '40'], env)
  assert.deepEqual([c.name, [...c.initialCluster.keys()], c.heartbeatInterval], ['e', ['e'], 40])
  assert.equal(parseMemberConfig([], env).heartbeatInterval, 30, "edgecd's variable wins over etcd's")
  assert.equal(parseMemberConfig([], { ...env, EDGECD_HEARTBEAT_INTERVAL: undefined }).heartbeatInterval, 20)
  assert.equal(parseMemberConfig([], { ETCD_CLIENT_CERT_AUTH: 'true', ETCD_CERT_FILE: 'c', ETCD_KEY_FILE: 'k', ETCD_TRUSTED_CA_FILE: 'ca', ETCD_LISTEN_CLIENT_URLS: 'https://127.0.0.1:2379' }).security?.clientCertAuth, true)
  const env35 = { ETCD_NAME: 'e', ETCD_ENABLE_V2: 'false', ETCD_EXPERIMENTAL_MAX_LEARNERS: '2', ETCD_EXPERIMENTAL_STOP_GRPC_SERVICE_ON_DEFRAG: 'true', ETCDCTL_API: '3', EDGECD_BOGUS: '1' }
  assert.deepEqual(unknownEtcdVariables(env35), ['ETCD_EXPERIMENTAL_MAX_LEARNERS', 'ETCD_EXPERIMENTAL_STOP_GRPC_SERVICE_ON_DEFRAG'])
})

test('--listen-metrics-urls, --logger and --log-outputs as etcd takes them', () => {
  const c = parseMemberConfig(['--listen-metrics-urls', 'http://127.0.0.1:2381,http://127.0.0.1:2382', '--listen-client-urls', 'http://127.0.0.1:2379'], {})
  assert.deepEqual(c.listenMetricsUrls, ['http://127.0.0.1:2381', 'http://127.0.0.1:2382'])
  assert.deepEqual(parseMemberConfig([], {}).listenMetricsUrls, [])
  assert.throws(() => parseMemberConfig(['--listen-metrics-urls', 'http://127.0.0.1:2381'], {}), /--listen-metrics-urls: 127.0.0.1:2381 is also in --listen-client-urls/)
  assert.throws(() => parseMemberConfig(['--listen-client-urls', 'http://127.0.0.1:2379', '--listen-metrics-urls', 'https://127.0.0.1:2381'], {}), /an https listen URL needs --cert-file/)
  assert.deepEqual(parseMemberConfig([], {}).logOutputs, ['stdout'])
  assert.deepEqual(parseMemberConfig(['--log-outputs', 'default,/var/log/m.log,stderr'], {}).logOutputs, ['stderr', '/var/log/m.log'])
  assert.equal(parseMemberConfig(['--log-level', 'panic', '--logger', 'capnslog'], {}).logLevel, 'panic')
  assert.throws(() => parseMemberConfig(['--logger', 'glog'], {}), /--logger: must be zap or capnslog, got glog/)
  assert.throws(() => parseMemberConfig(['--log-level', 'trace'], {}), /--log-level: must be one of debug, info, warn, error, panic, fatal, got trace/)
  assert.throws(() => parseMemberConfig(['--log-outputs', ','], {}), /--log-outputs: no output given/)
})

test("etcd's other flags: tuning taken (warned of off its default), features edgecd lacks taken only when off", () => {
  const c = parseMemberConfig(['--max-wals=10', '--grpc-keepalive-interval', '2h', '--pre-vote', '--metrics', 'extensive', '--enable-v2=false', '--cors', '*'], {})
  assert.deepEqual(c.ineffectiveFlags, ['max-wals', 'pre-vote', 'metrics'], '2h is the default 2h0m0s')
  assert.deepEqual(parseMemberConfig(['--strict-reconfig-check', '--proxy', 'off', '--wal-dir', ''], {}).ineffectiveFlags, [])
  // Two flags etcd 3.4 takes without listing them in its --help.
  assert.deepEqual(parseMemberConfig(['--unsafe-no-fsync', '--enable-grpc-gateway=true'], {}).ineffectiveFlags, ['unsafe-no-fsync'])
  assert.throws(() => parseMemberConfig(['--enable-grpc-gateway=false'], {}), /--enable-grpc-gateway=false is not supported by edgecd: only true/)
  const refused: Array<[string[], RegExp]> = [
    [['--enable-v2'], /^--enable-v2=true is not supported by edgecd: only false: the v3 API alone is served$/],
    [['--wal-dir', '/ssd/wal'], /--wal-dir=\/ssd\/wal is not supported by edgecd: only the default: the journal lives in --data-dir/],
    [['--strict-reconfig-check=false'], /--strict-reconfig-check=false is not supported/],
    [['--cors', 'https://a.example'], /--cors=https:\/\/a.example is not supported by edgecd: only \*/],
    [['--client-crl-file', 'crl.pem'], /no certificate revocation lists/],
    [['--max-wals', 'many'], /^--max-wals: expected a whole number, got "many"$/],
    [['--grpc-keepalive-time', '5s'], /grpc-keepalive-time/],
    [['--grpc-keepalive-timeout', '5'], /^--grpc-keepalive-timeout: expected a duration such as 5s, got "5"$/],
    [['--metrics', 'all'], /^--metrics: expected basic or extensive, got "all"$/],
    [['--pre-vote=maybe'], /invalid boolean value "maybe" for -pre-vote/],
  ]
  for (const [argv, re] of refused) assert.throws(() => parseMemberConfig(argv, {}), (e: unknown) => e instanceof ConfigError && re.test((e as Error).message), argv.join(' '))
  assert.throws(() => parseMemberConfig([], { ETCD_AUTO_TLS: '1' }), /--auto-tls=true is not supported/, "a variable in Go's boolean spelling")
})

test('--experimental-watch-progress-notify-interval, --bcrypt-cost and --debug take effect', () => {
  const d = parseMemberConfig([], {})
  assert.deepEqual([d.watchProgressNotifyMs, d.bcryptCost, d.logLevel], [600_000, 10, 'info'])
  const c = parseMemberConfig(['--experimental-watch-progress-notify-interval', '1m30s', '--bcrypt-cost', '4', '--debug'], {})
  assert.deepEqual([c.watchProgressNotifyMs, c.bcryptCost, c.logLevel], [90_000, 4, 'debug'])
  assert.throws(() => parseMemberConfig(['--bcrypt-cost', '3'], {}), /--bcrypt-cost: must be between 4 and 31, got "3"/)
  assert.throws(() => parseMemberConfig(['--experimental-watch-progress-notify-interval', '0s'], {}), /expected a positive duration/)
})

test('advertised URLs: a client URL on every address is no default; peer URLs default to this member\'s --initial-cluster entry', () => {
  assert.throws(() => parseMemberConfig(['--listen-client-urls', 'http://0.0.0.0:2379'], {}), /--advertise-client-urls is needed: http:\/\/0.0.0.0:2379 listens on every address/)
  // The single-member set-up of etcd's container examples starts as it did.
  const single = parseMemberConfig(['--listen-client-urls', 'http://0.0.0.0:2379', '--advertise-client-urls', 'http://0.0.0.0:2379'], {})
  assert.deepEqual([...single.initialCluster], [['default', ['http://0.0.0.0:2379']]])
  const apart = ['--listen-client-urls', 'http://0.0.0.0:2379', '--advertise-client-urls', 'http://10.0.0.1:2379', '--listen-peer-urls', 'http://[::]:2380']
  const c = parseMemberConfig([...apart, '--initial-cluster', 'default=http://10.0.0.1:2380,other=http://10.0.0.2:2380'], {})
  assert.deepEqual([c.advertiseClientUrls, c.initialAdvertisePeerUrls], [['http://10.0.0.1:2379'], ['http://10.0.0.1:2380']])
  assert.deepEqual(parseMemberConfig([...apart, '--initial-advertise-peer-urls', 'http://10.0.0.9:2380', '--initial-cluster', 'default=http://10.0.0.9:2380'], {}).initialAdvertisePeerUrls, ['http://10.0.0.9:2380'])
  // Two peer URLs of its own make a one-member cluster of both.
  const two = parseMemberConfig(['--listen-client-urls', 'http://127.0.0.1:2379', '--listen-peer-urls', 'http://127.0.0.1:2380,http://127.0.0.2:2380'], {})
  assert.deepEqual([...two.initialCluster], [['default', ['http://127.0.0.1:2380', 'http://127.0.0.2:2380']]])
})

test('a boolean variable is read as Go reads it, and refused otherwise', () => {
  assert.equal(parseMemberConfig([], { ETCD_AUTO_PROMOTE: 'T' }).autoPromote, true)
  assert.throws(() => parseMemberConfig([], { ETCD_CLIENT_CERT_AUTH: 'yes' }), /ETCD_CLIENT_CERT_AUTH: invalid boolean value "yes"$/)
  assert.throws(() => parseMemberConfig([], { EDGECD_DEBUG: 'on' }), /EDGECD_DEBUG: invalid boolean value "on"$/)
})

test('certificate checks need a TLS listener on their side; etcd\'s config file and systemd journal output', () => {
  const files = ['--cert-file', 'c', '--key-file', 'k', '--trusted-ca-file', 'ca', '--peer-cert-file', 'pc', '--peer-key-file', 'pk', '--peer-trusted-ca-file', 'pca']
  const apart = (client: string, peer: string): string[] => ['--listen-client-urls', client, '--listen-peer-urls', peer, ...files]
  assert.throws(() => parseMemberConfig([...apart('http://127.0.0.1:2379', 'https://127.0.0.1:2380'), '--client-cert-auth'], {}), /--client-cert-auth needs an https --listen-client-urls URL/)
  assert.throws(() => parseMemberConfig([...apart('https://127.0.0.1:2379', 'http://127.0.0.1:2380'), '--peer-client-cert-auth'], {}), /--peer-client-cert-auth needs an https peer URL/)
  assert.equal(parseMemberConfig([...apart('https://127.0.0.1:2379,http://127.0.0.1:22379', 'https://127.0.0.1:2380'), '--client-cert-auth'], {}).security?.clientCertAuth, true, 'https and loopback http, as etcd allows')
  assert.throws(() => parseMemberConfig([], { ETCD_CONFIG_FILE: '/etc/etcd/etcd.conf.yml' }), /--config-file=\/etc\/etcd\/etcd.conf.yml is not supported by edgecd/)
  assert.deepEqual(parseMemberConfig(['--log-outputs', 'systemd/journal'], {}).logOutputs, ['stderr'])
})

test('a listen address given twice is refused: in one list, or as a client and a peer URL', () => {
  assert.throws(() => parseMemberConfig(['--listen-client-urls', 'http://127.0.0.1:2379,https://127.0.0.1:2379'], {}), /--listen-client-urls: 127.0.0.1:2379 is given twice/)
  assert.throws(
    () => parseMemberConfig(['--listen-client-urls', 'http://127.0.0.1:2379', '--listen-peer-urls', 'http://127.0.0.1:2379'], {}),
    /--listen-peer-urls: 127.0.0.1:2379 is also a client URL/,
  )
  assert.doesNotThrow(() => parseMemberConfig(['--listen-client-urls', 'http://127.0.0.1:2379', '--listen-peer-urls', 'http://127.0.0.2:2379'], {}))
})

test('each https listener needs the certificate it serves, and a certificate needs an https listener', () => {
  const cert = ['--cert-file', 'c.pem', '--key-file', 'k.pem']
  const peerCert = ['--peer-cert-file', 'pc.pem', '--peer-key-file', 'pk.pem']
  const apart = (client: string, peer: string): string[] => ['--listen-client-urls', client, '--listen-peer-urls', peer]
  const refused = (argv: string[], re: RegExp): void => assert.throws(() => parseMemberConfig(argv, {}), (e: unknown) => e instanceof ConfigError && re.test((e as Error).message), argv.join(' '))
  const tlsOf = (argv: string[]) => parseMemberConfig(argv, {}).security
  // etcd's common set-up: plain clients on loopback, peers over TLS.
  const s = tlsOf([...apart('http://127.0.0.1:2379', 'https://127.0.0.1:2380'), ...peerCert])
  assert.deepEqual([s?.tls, s?.peerTls?.certFile], [null, 'pc.pem'])
  refused(apart('http://127.0.0.1:2379', 'https://127.0.0.1:2380'), /an https --listen-peer-urls URL needs --peer-cert-file/)
  refused([...apart('https://127.0.0.1:2379', 'http://127.0.0.1:2380'), ...peerCert], /an https --listen-client-urls URL needs --cert-file/)
  refused([...apart('http://127.0.0.1:2379', 'http://127.0.0.1:2380'), ...cert], /need an https listen URL/)
  assert.equal(tlsOf([...apart('https://127.0.0.1:2379', 'https://127.0.0.1:2380'), ...cert])?.tls?.certFile, 'c.pem', "the peers' port may serve --cert-file")
  // One port for both: either certificate serves it.
  assert.equal(tlsOf(['--listen-client-urls', 'https://127.0.0.1:2379', ...peerCert])?.peerTls?.certFile, 'pc.pem')
  refused(['--listen-client-urls', 'https://127.0.0.1:2379'], /an https listen URL needs --cert-file/)
  refused([...cert], /need an https listen URL/)
})

test('bad values are refused with the flag named', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--heartbeat-interval', 'abc'], /--heartbeat-interval/],
    [['--heartbeat-interval', '300', '--election-timeout', '1000'], /--election-timeout/],
    [['--listen-client-urls', 'not a url'], /--listen-client-urls/],
    [['--listen-client-urls', 'http://127.0.0.1'], /explicit port/],
    [['--listen-peer-urls', 'tcp://127.0.0.1:2380'], /--listen-peer-urls: URL scheme must be http or https/],
    [['--listen-peer-urls', ''], /--listen-peer-urls: no URL given/],
    [['--initial-cluster-state', 'old'], /--initial-cluster-state/],
    [['--name', 'a', '--initial-cluster', 'b=http://127.0.0.1:1'], /not listed/],
    [['--bogus-flag', 'x'], /bogus-flag/],
    [['--auto-compaction-mode', 'weekly'], /--auto-compaction-mode/],
  ]
  for (const [argv, re] of cases) assert.throws(() => parseMemberConfig(argv, {}), (e: unknown) => e instanceof ConfigError && re.test((e as Error).message), argv.join(' '))
})

test('auto-compaction retention: bare hours and Go durations in periodic mode', () => {
  assert.equal(parseRetention('periodic', '1'), 3_600_000)
  assert.equal(parseRetention('periodic', '1h30m'), 5_400_000)
  assert.equal(parseRetention('periodic', '500ms'), 500)
  assert.equal(parseRetention('revision', '42'), 42)
  assert.equal(parseRetention('revision', '5s'), 5e9, 'a duration in revision mode is its nanoseconds, as etcd reads it')
  assert.throws(() => parseRetention('periodic', '5 minutes'), ConfigError)
})

test('member IDs come from peer URLs and token, are stable, non-zero and exact JS integers', () => {
  const a = memberIdFor(['http://127.0.0.1:2381'], 't')
  assert.equal(a, memberIdFor(['http://127.0.0.1:2381'], 't'))
  assert.notEqual(a, memberIdFor(['http://127.0.0.1:2381'], 'u'))
  assert.notEqual(a, memberIdFor(['http://127.0.0.1:2382'], 't'))
  assert.ok(Number.isSafeInteger(a) && a > 0)
  assert.equal(clusterIdFor([3, 1, 2], 't'), clusterIdFor([1, 2, 3], 't'))
})

test('--help lists every flag the parser takes, with the defaults it falls back to', () => {
  assert.deepEqual([...MEMBER_FLAG_HELP.map(([flag]) => flag)].sort(), [...MEMBER_FLAGS].sort())
  for (const flag of MEMBER_FLAGS) assert.match(MEMBER_USAGE, new RegExp(`^  --${flag} `, 'm'))
  const defaults = parseMemberConfig([], {})
  // A default printed as a plain value ("100", "simple") must be what no flag at all gives.
  const literal = MEMBER_FLAG_HELP.filter(([, dflt]) => /^[\w.:/-]+$/.test(dflt) && dflt !== 'off' && dflt !== 'replicated')
  assert.ok(literal.length >= 15, `${literal.length} defaults compared`)
  for (const [flag, dflt] of literal)
    assert.deepEqual(parseMemberConfig([`--${flag}=${dflt}`], {}), defaults, `--${flag}=${dflt} is the default`)
})
