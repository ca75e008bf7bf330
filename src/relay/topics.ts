/** Topic name → its subscribers; a topic without subscribers is forgotten. */
export interface TopicRegistry<Member> {
  add(topic: string, member: Member): void
  remove(topic: string, member: Member): void
  subscribers(topic: string): ReadonlySet<Member> | undefined
  /** Topics with at least one subscriber. */
  readonly size: number
}

/** Creates an empty registry. */
export function createTopicRegistry<Member>(): TopicRegistry<Member> {
  const topics = new Map<string, Set<Member>>()
  return {
    add(topic, member) {
      const members = topics.get(topic)
      if (members === undefined) topics.set(topic, new Set([member]))
      else members.add(member)
    },
    remove(topic, member) {
      const members = topics.get(topic)
      if (members === undefined) return
      members.delete(member)
      if (members.size === 0) topics.delete(topic)
    },
    subscribers: (topic) => topics.get(topic),
    get size() {
      return topics.size
    },
  }
}
