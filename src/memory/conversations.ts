import { randomId } from '../shared/ids'
import type { LocalDb, StoredConversation, StoredMessage } from './local-db'
import { savingOrSay } from './storage-full'

const titleLength = 60
const defaultTitle = 'New chat'

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
    return { id: randomId(), title: defaultTitle, createdAt: now, updatedAt: now, messages: [] }
  }

  /**
   * Saves the conversation as it is now; called after every message and every few chunks. When
   * the browser's storage is full it fails with a StorageFullError, once until a save works
   * again: the conversation stays open in the page, and every save tries again. Until the user
   * names it, a conversation is titled by its first question (the title is set on `conversation`).
   */
  async save(conversation: StoredConversation): Promise<void> {
    const firstUser = conversation.messages.find((message) => message.role === 'user')
    if (conversation.title === defaultTitle && firstUser) conversation.title = firstUser.content.replace(/\s+/g, ' ').trim().slice(0, titleLength) || defaultTitle
    const stored = { ...conversation, updatedAt: Date.now(), messages: conversation.messages.map((message): StoredMessage => ({ ...message })) }
    await savingOrSay('this conversation', () => this.db.put('conversations', stored), { kept: 'it stays open in this tab (copy what you need before closing it)', streak: this.#streak })
  }

  /** The user's own title for it; an empty one gives it back its first question. */
  async rename(conversation: StoredConversation, title: string): Promise<void> {
    conversation.title =
      title
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, titleLength * 4) || defaultTitle
    await this.save(conversation)
  }

  /** The conversations whose title holds `query` (any case), most recent first. */
  async search(query: string, limit = 30): Promise<StoredConversation[]> {
    const needle = query.trim().toLocaleLowerCase()
    const all = (await this.db.getAllFromIndex('conversations', 'updatedAt')).reverse()
    return (needle ? all.filter((conversation) => conversation.title.toLocaleLowerCase().includes(needle)) : all).slice(0, limit)
  }

  /**
   * Keeps conversations read from a file exactly as they are (titles and times included). One
   * whose id is taken here by a different conversation is kept under a new id, never over it.
   * Returns the conversations as stored.
   */
  async import(conversations: readonly StoredConversation[]): Promise<StoredConversation[]> {
    const stored: StoredConversation[] = []
    for (const conversation of conversations) {
      const held = await this.db.get('conversations', conversation.id)
      const kept = held && JSON.stringify(held) !== JSON.stringify(conversation) ? { ...conversation, id: randomId() } : conversation
      await savingOrSay('the imported conversation', () => this.db.put('conversations', kept))
      stored.push(kept)
    }
    return stored
  }

  async remove(id: string): Promise<void> {
    await this.db.delete('conversations', id)
  }
}
