import { afterEach, describe, expect, it, vi } from 'vitest'
import type { StoredRoom } from '../../src/memory/local-db'
import { maxPeerIdsKept, RoomRegistry, RoomVisit, type RoomRecords } from '../../src/memory/rooms'
import { roomIdOf } from '../../src/shared/room-id'
import { launchOf, sharedText } from '../../src/swarm/room/launch'
import { parseRoomUrl } from '../../src/swarm/room/room-url'
import { lastOpenText } from '../../src/ui/rooms-view'
import { maxSummarizeChars, shareProblem } from '../../src/ui/share-view'

/** The `rooms` store's contract on a map (the IndexedDB one runs in test/e2e/rooms.spec.ts). */
function mapRecords(): RoomRecords & { map: Map<string, unknown>; puts: number } {
  const map = new Map<string, unknown>()
  const records = {
    map,
    puts: 0,
    get: (id: string) => Promise.resolve(structuredClone(map.get(id))),
    put: (room: StoredRoom) => {
      records.puts++
      map.set(room.id, structuredClone(room))
      return Promise.resolve()
    },
    delete: (id: string) => Promise.resolve(void map.delete(id)),
    all: () => Promise.resolve([...map.values()].map((value) => structuredClone(value))),
  }
  return records
}

describe('room registry', () => {
  it('records each open, lists the one open last first, and keeps a room with another key apart', async () => {
    let now = 1_000
    const records = mapRecords()
    const rooms = new RoomRegistry(records, () => now)
    expect(await rooms.last()).toBeNull()
    const a = await rooms.open('lab', 'k1')
    expect(a).toMatchObject({ id: await roomIdOf('lab', 'k1'), room: 'lab', key: 'k1', name: '', createdAt: 1_000, lastOpenAt: 1_000, peersSeen: 0, memoryCount: 0 })
    now = 2_000
    await rooms.open('lab', 'k2')
    now = 3_000
    await rooms.open('open-room', null)
    expect((await rooms.list()).map((room) => [room.room, room.key])).toEqual([
      ['open-room', null],
      ['lab', 'k2'],
      ['lab', 'k1'],
    ])
    now = 4_000
    const again = await rooms.open('lab', 'k1')
    expect(again).toMatchObject({ createdAt: 1_000, lastOpenAt: 4_000 })
    expect(await rooms.last()).toMatchObject({ room: 'lab', key: 'k1' })
  })

  it('renames locally (trimmed, capped; empty shows the room name) and forgets', async () => {
    const rooms = new RoomRegistry(mapRecords())
    const { id } = await rooms.open('lab', 'k')
    await rooms.rename(id, '  Lab notes  ')
    expect((await rooms.get(id))?.name).toBe('Lab notes')
    await rooms.rename(id, 'x'.repeat(500))
    expect((await rooms.get(id))?.name).toHaveLength(80)
    await rooms.rename(id, '')
    expect((await rooms.get(id))?.name).toBe('')
    await rooms.forget(id)
    expect(await rooms.list()).toEqual([])
    // A rename or a count for a forgotten room does not bring it back.
    await rooms.rename(id, 'back?')
    await rooms.note(id, { peerIds: ['p'], memoryCount: 3 })
    expect(await rooms.list()).toEqual([])
  })

  it('counts each peer once across visits, up to the ids it keeps', async () => {
    const rooms = new RoomRegistry(mapRecords())
    const { id } = await rooms.open('lab', 'k')
    await rooms.note(id, { peerIds: ['a', 'b'], memoryCount: 2 })
    await rooms.note(id, { peerIds: ['b', 'c'], memoryCount: 5 })
    expect(await rooms.get(id)).toMatchObject({ peersSeen: 3, memoryCount: 5 })
    const many = Array.from({ length: maxPeerIdsKept + 10 }, (_, i) => `peer-${i}`)
    await rooms.note(id, { peerIds: many, memoryCount: 5 })
    const stored = await rooms.get(id)
    expect(stored?.peerIds).toHaveLength(maxPeerIdsKept)
    expect(stored?.peersSeen).toBe(3 + many.length)
  })

  it('reads a damaged or foreign record as none instead of failing the list', async () => {
    const records = mapRecords()
    const rooms = new RoomRegistry(records)
    await rooms.open('lab', 'k')
    records.map.set('junk', { id: 'junk', room: 42 })
    records.map.set('huge', { id: 'huge', room: 'x', key: null, name: 'n'.repeat(10_000), createdAt: 0, lastOpenAt: 9e15, peersSeen: 0, memoryCount: 0 })
    expect((await rooms.list()).map((room) => room.room)).toEqual(['lab'])
  })
})

describe('room visit', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('writes what it saw at most once per interval, and at once on flush', async () => {
    vi.useFakeTimers()
    const records = mapRecords()
    const rooms = new RoomRegistry(records)
    const { id } = await rooms.open('lab', 'k')
    const putsAfterOpen = records.puts
    const visit = new RoomVisit(rooms, id, { writeEveryMs: 5_000 })
    visit.peers(['a'])
    visit.memory(1)
    visit.peers(['a', 'b'])
    visit.memory(2)
    await vi.advanceTimersByTimeAsync(4_999)
    expect(records.puts).toBe(putsAfterOpen)
    await vi.advanceTimersByTimeAsync(1)
    expect(records.puts).toBe(putsAfterOpen + 1)
    expect(await rooms.get(id)).toMatchObject({ peersSeen: 2, memoryCount: 2 })
    // Nothing new: nothing written.
    visit.peers(['b'])
    visit.memory(2)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(records.puts).toBe(putsAfterOpen + 1)
    visit.memory(7)
    await visit.flush()
    expect(records.puts).toBe(putsAfterOpen + 2)
    expect(await rooms.get(id)).toMatchObject({ peersSeen: 2, memoryCount: 7 })
    visit.memory(8)
    visit.stop()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(records.puts).toBe(putsAfterOpen + 2)
  })

  it('tells a failed write to onError and keeps going', async () => {
    const records = mapRecords()
    const rooms = new RoomRegistry(records)
    const { id } = await rooms.open('lab', 'k')
    const errors: unknown[] = []
    const visit = new RoomVisit(rooms, id, { onError: (error) => errors.push(error) })
    records.put = () => Promise.reject(new Error('quota'))
    visit.memory(1)
    await visit.flush()
    expect(errors).toHaveLength(1)
    visit.memory(2)
    await visit.flush()
    expect(errors).toHaveLength(2)
  })
})

describe('launch', () => {
  const last = { room: 'lab', key: 's3 cret' }
  const origin = 'http://127.0.0.1:8787'

  it('`/` and the installed app land in the last room, with its key and the page options kept', () => {
    const launch = launchOf(`${origin}/?engine=none`, last)
    expect(launch).toMatchObject({ shared: null, openFile: false })
    expect(parseRoomUrl(launch.href)).toMatchObject({ room: 'lab', key: 's3 cret', generated: false, engine: 'none' })
    expect(new URL(launchOf(`${origin}/?last`, last).href).searchParams.has('last')).toBe(false)
    expect(parseRoomUrl(launchOf(`${origin}/`, { room: 'open', key: null }).href)).toMatchObject({ room: 'open', key: null })
  })

  it('with no room yet, and with ?new, a new room is made as before', () => {
    expect(launchOf(`${origin}/`, null).href).toBe(`${origin}/`)
    const fresh = launchOf(`${origin}/?new&engine=none`, last)
    expect(fresh.href).toBe(`${origin}/?engine=none`)
    expect(parseRoomUrl(fresh.href).generated).toBe(true)
  })

  it('an invite link opens its own room exactly as given', () => {
    const invite = `${origin}/?room=other#key=abc`
    expect(launchOf(invite, last).href).toBe(invite)
    expect(launchOf(`${origin}/?room=open-one`, last).href).toBe(`${origin}/?room=open-one`)
  })

  it('a share lands in the last room with what was shared; an opened file too', () => {
    const share = launchOf(`${origin}/share?title=A%20page&text=Look%20at%20this&url=https%3A%2F%2Fexample.com%2Fa`, last)
    expect(share.shared).toEqual({ title: 'A page', text: 'Look at this', url: 'https://example.com/a' })
    const url = new URL(share.href)
    expect(url.pathname).toBe('/')
    expect([...url.searchParams.keys()]).toEqual(['room'])
    expect(parseRoomUrl(share.href)).toMatchObject({ room: 'lab', key: 's3 cret' })
    const file = launchOf(`${origin}/open-file`, null)
    expect(file).toMatchObject({ openFile: true, shared: null, href: `${origin}/` })
  })

  it('the shared parts become one text without repeats', () => {
    expect(sharedText({ title: 'A page', text: 'Look at this', url: 'https://example.com/a' })).toBe('A page\nLook at this\nhttps://example.com/a')
    expect(sharedText({ title: '', text: 'see https://example.com/a', url: 'https://example.com/a' })).toBe('see https://example.com/a')
    expect(sharedText({ title: ' ', text: '', url: '' })).toBe('')
  })
})

describe('room list and share words', () => {
  it('says when a room was open last, with plurals', () => {
    const now = Date.UTC(2026, 0, 31, 12)
    expect(lastOpenText(now - 10_000, now)).toBe('just now')
    expect(lastOpenText(now - 60_000, now)).toBe('1 minute ago')
    expect(lastOpenText(now - 3 * 60_000, now)).toBe('3 minutes ago')
    expect(lastOpenText(now - 3_600_000, now)).toBe('1 hour ago')
    expect(lastOpenText(now - 2 * 86_400_000, now)).toBe('2 days ago')
    expect(lastOpenText(now + 60_000, now)).toBe('just now')
  })

  it('refuses an empty share for every use, and one too long for a use with the reason', () => {
    for (const use of ['save', 'ask', 'summarize'] as const) expect(shareProblem('  \n ', use)).toBe('Nothing was shared: the item has no text or link.')
    expect(shareProblem('x'.repeat(8_000), 'save')).toBeNull()
    expect(shareProblem('x'.repeat(8_001), 'save')).toBe('Too long for one memory entry: 8,001 characters, the limit is 8,000. Summarize it with the swarm instead.')
    expect(shareProblem('x'.repeat(8_001), 'ask')).toContain('Too long for one question')
    expect(shareProblem('x'.repeat(8_001), 'summarize')).toBeNull()
    expect(shareProblem('x'.repeat(maxSummarizeChars + 1), 'summarize')).toBe('Too long to summarize: 200,001 characters, the limit is 200,000.')
  })
})
