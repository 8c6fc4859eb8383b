/**
 * The dashboard end to end: a real 3-member cluster (src/cli/up.ts) with its gateway serving /ui,
 * driven in headless Chromium. One cluster and one page for the whole file, used in order:
 * the cluster view, browsing and editing keys (put, CAS conflict, delete, history), a live watch
 * with pause, leases and services, the cluster view following a kill -9 of the leader, and login
 * once auth is on.
 *
 * Screenshots of each view go to a temp dir (printed); with UPDATE_DOCS_SCREENSHOTS=1 they are
 * also copied to docs/ui-*.png for the README.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { b64, call, launchBrowser, shot, SHOTS, sleep, startCluster, waitFor, type UiCluster } from './harness.ts'

const DOCS = resolve(fileURLToPath(new URL('../../docs', import.meta.url)))
const VIEWPORT = { width: 1440, height: 900 }

describe('the dashboard in a browser', { timeout: 120_000 }, () => {
  let c: UiCluster
  let browser: Browser
  let page: Page
  const pageErrors: string[] = []

  before(async () => {
    ;[c, browser] = await Promise.all([startCluster(3), launchBrowser()])
    page = await browser.newPage({ viewport: VIEWPORT })
    page.on('pageerror', (e) => pageErrors.push(e.message))
    page.setDefaultTimeout(10_000)
    console.log(`# screenshots in ${SHOTS}`)
  })

  after(async () => {
    await browser?.close()
    await c?.stop()
    if (process.env['UPDATE_DOCS_SCREENSHOTS'] === '1') {
      // The cluster shot for the README is the one after the leader was killed: it shows a failover.
      const sources = { cluster: 'cluster-after-leader-kill', keys: 'keys', watch: 'watch', leases: 'leases' }
      for (const [view, shotName] of Object.entries(sources)) copyFileSync(join(SHOTS, `${shotName}.png`), join(DOCS, `ui-${view}.png`))
    }
  })

  const put = (key: string, value: string, lease?: string): Promise<any> =>
    call(c.gateway, '/v3/kv/put', lease === undefined ? { key: b64(key), value: b64(value) } : { key: b64(key), value: b64(value), lease })
  const get = async (key: string): Promise<string | undefined> => {
    const kv = (await call(c.gateway, '/v3/kv/range', { key: b64(key) })).kvs?.[0]
    return kv === undefined ? undefined : Buffer.from(kv.value ?? '', 'base64').toString()
  }
  const text = async (testId: string): Promise<string> => (await page.getByTestId(testId).textContent()) ?? ''
  const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> => {
    await waitFor(what, async () => assert.ok(await check(), what), timeoutMs)
  }

  test('the gateway serves the page, its bundle and a cluster snapshot', async () => {
    const html = await fetch(`${c.gateway}/ui`)
    assert.equal(html.status, 200)
    assert.match(html.headers.get('content-type') ?? '', /text\/html/)
    assert.match(html.headers.get('content-security-policy') ?? '', /default-src 'none'/)
    const body = await html.text()
    const js = /src="(\/ui\/app\.js\?v=[0-9a-f]+)"/.exec(body)?.[1]
    assert.ok(js !== undefined, 'the page loads a versioned bundle')
    const bundle = await fetch(c.gateway + js)
    assert.equal(bundle.status, 200)
    assert.match(bundle.headers.get('cache-control') ?? '', /immutable/)
    assert.ok((await bundle.text()).length > 10_000, 'the bundle is served whole')
    const snapshot = (await (await fetch(`${c.gateway}/ui/api/cluster`)).json()) as any
    assert.equal(snapshot.members.length, 3)
    assert.deepEqual(snapshot.members.map((m: any) => m.name).sort(), ['m1', 'm2', 'm3'])
    assert.ok(
      snapshot.members.every((m: any) => m.reachable && m.metrics.fsync.count > 0),
      'every member is reachable and reports fsyncs',
    )
  })

  test('cluster view: every member with its role, term and indexes; one leader', async () => {
    await page.goto(`${c.gateway}/ui`)
    await page.locator('[data-testid=member-row][data-role=leader]').waitFor()
    assert.equal(await page.getByTestId('member-row').count(), 3)
    assert.equal(await page.locator('[data-testid=member-row][data-role=follower]').count(), 2)
    const status = await call(c.gateway, '/v3/maintenance/status')
    const leaderName = await page.locator('[data-testid=member-row][data-role=leader]').getAttribute('data-name')
    const snapshot = (await (await fetch(`${c.gateway}/ui/api/cluster`)).json()) as any
    assert.equal(snapshot.members.find((m: any) => m.id === status.leader)?.name, leaderName)
    assert.equal(await text('leader-name'), leaderName)
    assert.match(await text('summary'), /3\/3 healthy/)
    // The feed names the leader: as the first one seen, or as the latest change when the page
    // opened during an election (a slow CI machine can miss a heartbeat).
    assert.match(await text('leader-events'), new RegExp(`${leaderName} leads|→ ${leaderName} \\(term`))
  })

  test('keys: a tree by prefix, a page at a time, each key with its fields and history', async () => {
    for (let i = 0; i < 60; i++) await put(`/app/config/k${String(i).padStart(2, '0')}`, `value ${i}`)
    await put('/app/db/url', 'postgres://db:5432/app')
    for (const v of ['demo-1', 'demo-2', 'demo-3']) await put('/app/name', v)

    await page.keyboard.press('2') // the Keys view, by keyboard
    await page.getByTestId('prefix-input').waitFor()
    await page.keyboard.press('/')
    await page.keyboard.type('/app/')
    await page.keyboard.press('Enter')
    const rows = page.locator('[data-testid=key-list] button.row')
    await until('the /app/ level lists two folders and a key', async () => (await rows.count()) === 3)
    assert.deepEqual(await rows.evaluateAll((bs) => bs.map((b) => `${b.getAttribute('data-kind')} ${b.getAttribute('data-key')}`)), [
      'folder /app/config/',
      'folder /app/db/',
      'key /app/name',
    ])
    assert.match(await text('key-count'), /^62 keys/)

    // Into the folder of 60 keys: 50 on the first page, 10 on the next.
    await page.locator('button.row[data-key="/app/config/"]').click()
    await until('page 1 of /app/config/', async () => (await rows.count()) === 50)
    assert.equal(await rows.first().getAttribute('data-key'), '/app/config/k00')
    await page.getByTestId('next-page').click()
    await until('page 2 of /app/config/', async () => (await rows.count()) === 10)
    assert.equal(await rows.first().getAttribute('data-key'), '/app/config/k50')
    assert.ok(await page.getByTestId('next-page').isDisabled(), 'no next page on the last one')
    await page.getByTestId('prev-page').click()
    await until('back on page 1', async () => (await rows.count()) === 50)

    // Keyboard: ← goes up a folder, ↓ and Enter open a key.
    await rows.first().focus()
    await page.keyboard.press('ArrowLeft')
    await until('back at /app/', async () => (await rows.count()) === 3)
    await rows.first().focus()
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('Enter')
    await page.getByTestId('key-detail').waitFor()
    assert.equal(await text('detail-key'), '/app/name')
    const field = (name: string): Promise<string | null> => page.locator(`[data-field=${name}]`).textContent()
    const kv = (await call(c.gateway, '/v3/kv/range', { key: b64('/app/name') })).kvs[0]
    await until('the fields of /app/name', async () => (await field('version')) === '3')
    assert.equal(await field('mod_revision'), kv.mod_revision)
    assert.equal(await field('create_revision'), kv.create_revision)
    assert.equal(await page.getByTestId('value-editor').inputValue(), 'demo-3')
    await until('three versions in the history', async () => /created at revision/.test(await text('history')))
    assert.equal(await page.locator('[data-testid=history] .history-row').count(), 3)
    await page.locator('[data-testid=history] .history-row').nth(2).click()
    assert.equal(await text('history-value'), 'demo-1')
    await page.getByRole('button', { name: 'back to current' }).click()
    await shot(page, 'keys')
  })

  test('keys: save and delete are compare-and-set on mod_revision; a concurrent change is a conflict', async () => {
    const editor = page.getByTestId('value-editor')
    await editor.fill('demo-4')
    await page.getByTestId('save').click()
    await until('saved', async () => /Saved at revision/.test(await text('detail-message')))
    assert.equal(await get('/app/name'), 'demo-4')
    await until('the editor shows version 4', async () => (await page.locator('[data-field=version]').textContent()) === '4')

    // Someone else writes while the page holds version 4: the page's save must not land.
    await put('/app/name', 'from elsewhere')
    await editor.fill('mine')
    await page.getByTestId('save').click()
    await page.getByTestId('conflict').waitFor()
    assert.match(await text('conflict'), /was not applied/)
    assert.equal(await get('/app/name'), 'from elsewhere')
    await shot(page, 'keys-conflict')
    await page.getByTestId('conflict-reload').click()
    await until('reloaded to the other writer’s value', async () => (await editor.inputValue()) === 'from elsewhere')

    // A delete guarded the same way, after another concurrent change: conflict, then a real delete.
    await put('/app/name', 'changed again')
    await page.getByTestId('delete').click()
    await page.getByTestId('confirm-delete').click()
    await page.getByTestId('conflict').waitFor()
    assert.equal(await get('/app/name'), 'changed again')
    await page.getByTestId('conflict-reload').click()
    await until('reloaded', async () => (await editor.inputValue()) === 'changed again')
    await page.getByTestId('delete').click()
    await page.getByTestId('confirm-delete').click()
    await page.getByTestId('key-missing').waitFor()
    assert.equal(await get('/app/name'), undefined)
    await until('the list drops the key', async () => (await page.locator('button.row[data-key="/app/name"]').count()) === 0)

    // A new key: created only if it does not exist.
    await page.getByTestId('new-key-button').click()
    await page.locator('#new-key-name').fill('/app/fresh')
    await page.locator('#new-key-value').fill('hello')
    await page.getByTestId('create').click()
    await until('the new key is open', async () => (await text('detail-key')) === '/app/fresh')
    assert.equal(await get('/app/fresh'), 'hello')
    await page.getByTestId('new-key-button').click()
    await page.locator('#new-key-name').fill('/app/fresh')
    await page.getByTestId('create').click()
    await until('creating it again is refused', async () => /already exists/.test(await page.getByTestId('new-key').textContent() ?? ''))
    assert.equal(await get('/app/fresh'), 'hello')
    await page.keyboard.press('Escape') // leaves the input
    await page.keyboard.press('Escape') // closes the form
  })

  test('watch: live events under a prefix with their revisions; pause holds them back', async () => {
    await page.keyboard.press('3')
    await page.getByTestId('watch-prefix').fill('/w/')
    await page.getByTestId('watch-start').click()
    await until('the watch is created', async () => /Watching since revision/.test(await text('watch-status')))
    const r1 = (await put('/w/a', '1')).header.revision
    const r2 = (await put('/w/a', '2')).header.revision
    const r3 = (await call(c.gateway, '/v3/kv/deleterange', { key: b64('/w/a') })).header.revision
    const r4 = (
      await call(c.gateway, '/v3/kv/txn', {
        success: [{ request_put: { key: b64('/w/b'), value: b64('x') } }, { request_put: { key: b64('/w/c'), value: b64('y') } }],
      })
    ).header.revision
    await put('/elsewhere', 'not watched')
    const events = page.getByTestId('watch-event')
    await until('five events', async () => (await events.count()) === 5)
    const seen = await events.evaluateAll((rows) => rows.map((r) => `${r.getAttribute('data-revision')} ${r.getAttribute('data-type')}`))
    assert.deepEqual(seen, [`${r4} PUT`, `${r4} PUT`, `${r3} DELETE`, `${r2} PUT`, `${r1} PUT`])

    await page.getByTestId('watch-pause').click()
    await put('/w/d', 'while paused')
    await until('one event held back', async () => /1 held back/.test(await text('watch-held')))
    assert.equal(await events.count(), 5)
    await page.getByTestId('watch-pause').click()
    await until('released on resume', async () => (await events.count()) === 6)
    for (let i = 0; i < 6; i++) await put(`/w/item-${i}`, JSON.stringify({ n: i, ok: true }))
    await until('more events', async () => (await events.count()) === 12)
    await shot(page, 'watch')
  })

  test('leases and services: TTLs count down, attached keys, live instances', async () => {
    const lease = await call(c.gateway, '/v3/lease/grant', { TTL: 120 })
    await put('/leased/a', '1', lease.ID)
    await put('/leased/b', '2', lease.ID)
    const short = await call(c.gateway, '/v3/lease/grant', { TTL: 30 })
    const service = (name: string, address: string, extra: object = {}): Promise<any> =>
      put(`/edgecd/services/${name}`, JSON.stringify({ address, ...extra }), short.ID)
    await service('api/api-1', 'http://10.0.0.7:8080', { zone: 'eu-1' })
    await service('api/api-2', 'http://10.0.0.8:8080', { zone: 'eu-2' })
    await service('web/web-1', 'http://10.0.1.2:443')
    const hex = BigInt(lease.ID).toString(16)

    await page.keyboard.press('4')
    const row = page.locator(`[data-testid=lease-row][data-lease="${hex}"]`)
    await row.waitFor()
    await until('the lease has its TTL', async () => /^\d+m \d+s$|^\d+s$/.test((await row.locator('[data-field=ttl]').textContent()) ?? ''))
    const seconds = async (): Promise<number> => {
      const t = (await row.locator('[data-field=ttl]').textContent()) ?? ''
      const m = /^(?:(\d+)m )?(\d+)s$/.exec(t)
      return m === null ? NaN : Number(m[1] ?? 0) * 60 + Number(m[2])
    }
    const first = await seconds()
    assert.ok(first > 100 && first <= 120, `TTL ${first}`)
    await sleep(1600)
    assert.ok((await seconds()) < first, 'the TTL counts down')
    await row.click()
    await until('the lease’s keys', async () => /\/leased\/a[\s\S]*\/leased\/b/.test(await text('lease-detail')))

    const instances = (name: string) => page.locator(`[data-testid=service][data-service=${name}] [data-testid=instance]`)
    await until('two api instances', async () => (await instances('api').count()) === 2)
    assert.equal(await instances('web').count(), 1)
    await call(c.gateway, '/v3/kv/deleterange', { key: b64('/edgecd/services/api/api-2') })
    await service('api/api-3', 'http://10.0.0.9:8080', { zone: 'eu-3' })
    await until('the instances follow the cluster live', async () => {
      const ids = await instances('api').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-instance')))
      return ids.join(',') === 'api-1,api-3'
    })
    assert.match(await text('services-status'), /live/)
    await shot(page, 'leases')
  })

  test('cluster view: the leader is killed (kill -9) and the page shows the new one', async () => {
    // Some load first, so the charts have something to draw.
    for (let i = 0; i < 40; i++) await put(`/load/${i % 8}`, `x${i}`)
    await page.keyboard.press('1')
    const leaderRow = page.locator('[data-testid=member-row][data-role=leader]')
    const old = (await leaderRow.getAttribute('data-name')) as string
    await shot(page, 'cluster')
    await c.killMember(old)
    await until(
      'a new leader on the page',
      async () => {
        const now = await leaderRow.getAttribute('data-name', { timeout: 500 }).catch(() => null)
        return now !== null && now !== old
      },
      15_000,
    )
    await until('the killed member is shown down', async () => {
      const role = await page.locator(`[data-testid=member-row][data-name=${old}]`).getAttribute('data-role')
      return role === 'down'
    })
    assert.match(await text('leader-events'), new RegExp(`leader changed: ${old} → `))
    // The other follower may take a moment to answer healthy under its new leader.
    await until('two of three healthy', async () => /2\/3 healthy/.test(await text('summary')))
    for (let i = 0; i < 20; i++) await put(`/load/${i % 8}`, `y${i}`)
    await sleep(1200)
    await shot(page, 'cluster-after-leader-kill')
  })

  test('login with auth on: the page asks for a user, keeps the token in memory, and works', async () => {
    await call(c.gateway, '/v3/auth/user/add', { name: 'root', password: 'rootpw' })
    await call(c.gateway, '/v3/auth/user/grant', { user: 'root', role: 'root' })
    await call(c.gateway, '/v3/auth/enable')
    const token = (await call(c.gateway, '/v3/auth/authenticate', { name: 'root', password: 'rootpw' })).token as string
    try {
      const fresh = await browser.newPage({ viewport: VIEWPORT })
      await fresh.goto(`${c.gateway}/ui#keys`)
      await fresh.getByTestId('login').waitFor()
      await fresh.locator('#login-name').fill('root')
      await fresh.locator('#login-password').fill('wrong')
      await fresh.getByTestId('login-submit').click()
      await waitFor('a wrong password is refused', async () =>
        assert.match((await fresh.getByTestId('login-error').textContent()) ?? '', /authentication failed/),
      )
      await fresh.locator('#login-password').fill('rootpw')
      await fresh.getByTestId('login-submit').click()
      await fresh.getByTestId('login').waitFor({ state: 'detached' })
      assert.equal(await fresh.getByTestId('user').textContent(), 'root')
      await waitFor('keys are listed with the token', async () =>
        assert.ok((await fresh.locator('[data-testid=key-list] button.row').count()) > 0, 'no key listed yet'),
      )
      assert.equal(await fresh.evaluate(() => localStorage.length + sessionStorage.length + document.cookie.length), 0)
      await shot(fresh, 'login')
      await fresh.close()
    } finally {
      await call(c.gateway, '/v3/auth/disable', {}, token)
    }
  })

  test('no script errors on the page', () => {
    assert.deepEqual(pageErrors, [])
  })
})
