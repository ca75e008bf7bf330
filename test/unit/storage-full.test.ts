import { describe, expect, test } from 'vitest'
import { Conversations } from '../../src/memory/conversations'
import type { LocalDb } from '../../src/memory/local-db'
import { saveNet } from '../../src/memory/net-store'
import { engineSettings } from '../../src/memory/settings'
import { StorageFullError, watchQuota } from '../../src/memory/storage-full'
import { OnlineNet } from '../../src/micronets/learner'
import { initialRouterNet } from '../../src/micronets/router'

const quota = (): DOMException => new DOMException('The quota has been exceeded.', 'QuotaExceededError')

/** A profile database whose every write fails as a full disk makes IndexedDB fail. */
const fullDb = { put: () => Promise.reject(quota()) } as unknown as LocalDb

describe('a full disk is told, never swallowed', () => {
  test('conversation, settings and net writes fail with a StorageFullError that says what was not saved', async () => {
    const conversations = new Conversations(fullDb)
    const conversation = conversations.create()
    conversation.messages.push({ role: 'user', content: 'a question worth keeping' })
    await expect(conversations.save(conversation)).rejects.toThrow(StorageFullError)
    // What the user wrote is still in the page.
    expect(conversation.messages[0]?.content).toBe('a question worth keeping')
    await expect(engineSettings.save(fullDb, { engine: 'wasm' })).rejects.toThrow(/engine settings could not be saved/)
    await expect(saveNet(fullDb, 'router', new OnlineNet('router', initialRouterNet(), { loss: 'bce' }).snapshot(), true)).rejects.toThrow(StorageFullError)
  })

  test('a conversation saved every few seconds tells a full disk once, and again after a save that worked', async () => {
    let full = true
    const db = { put: () => (full ? Promise.reject(quota()) : Promise.resolve('ok')) } as unknown as LocalDb
    const conversations = new Conversations(db)
    const conversation = conversations.create()
    await expect(conversations.save(conversation)).rejects.toThrow(/this conversation could not be saved on this device; it stays open in this tab/)
    await expect(conversations.save(conversation)).resolves.toBeUndefined()
    full = false
    await expect(conversations.save(conversation)).resolves.toBeUndefined()
    full = true
    await expect(conversations.save(conversation)).rejects.toThrow(StorageFullError)
  })

  test('other write failures pass through as they are', async () => {
    const broken = { put: () => Promise.reject(new DOMException('gone', 'InvalidStateError')) } as unknown as LocalDb
    await expect(new Conversations(broken).save(new Conversations(broken).create())).rejects.toThrow('gone')
  })

  test("a quota abort of someone else's transaction (y-indexeddb's) reaches the watcher, once per abort", () => {
    const db = new EventTarget()
    const heard: StorageFullError[] = []
    const stop = watchQuota(db, "the room's latest changes", (error) => heard.push(error))
    const abort = (error: unknown): void => {
      const event = new Event('abort')
      Object.defineProperty(event, 'target', { value: { error } })
      db.dispatchEvent(event)
    }
    abort(quota())
    abort(new DOMException('other', 'AbortError'))
    abort(quota())
    expect(heard).toHaveLength(2)
    expect(heard[0]?.message).toContain("the room's latest changes could not be saved on this device")
    stop()
    abort(quota())
    expect(heard).toHaveLength(2)
  })
})
