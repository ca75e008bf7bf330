import { randomId } from '../shared/ids'
import type { LocalDb, StoredConversation, StoredMessage } from './local-db'
import { savingOrSay } from './storage-full'

const titleLength = 60

/** Chat history kept in this profile's IndexedDB: nothing said is lost on reload or crash. */
export class Conversations {
  readonly #streak = { full: false }

  constructor(private readonly db: LocalDb) {}

  async recent(limit = 30): Promise<StoredConversation[]> {
    const all = await this.db.getAllFromIndex('conversations', 'updatedAt')
    return all.reverse().slice(0, limit)
  }

  get(id: string): Promise<StoredConversation | undefined> {
    return this.db.get('conversations', id)
  }

  create(): StoredConversation {
    const now = Date.now()
    return { id: randomId(), title: 'New chat', createdAt: now, updatedAt: now, messages: [] }
  }

  /**
   * Saves the conversation as it is now; called after every message and every few chunks. When
   * the browser's storage is full it fails with a StorageFullError, once until a save works
   * again: the conversation stays open in the page, and every save tries again.
   */
  async save(conversation: StoredConversation): Promise<void> {
    const firstUser = conversation.messages.find((message) => message.role === 'user')
    const title = firstUser ? firstUser.content.slice(0, titleLength) : conversation.title
    const stored = { ...conversation, title, updatedAt: Date.now(), messages: conversation.messages.map((message): StoredMessage => ({ ...message })) }
    await savingOrSay('this conversation', () => this.db.put('conversations', stored), { kept: 'it stays open in this tab (copy what you need before closing it)', streak: this.#streak })
  }

  async remove(id: string): Promise<void> {
    await this.db.delete('conversations', id)
  }
}
