// The semantics of y-webrtc's signaling protocol over abstract members, without sockets.
import { encodePublished, type PublishFrame, type SignalingFrame } from '../shared/signaling'
import { createTopicRegistry } from './topics'

export interface RoomMember {
  /** The topics this member subscribed to; owned by the rooms, read by others. */
  readonly topics: Set<string>
}

export type ApplyResult = 'ok' | 'too-many-topics' | 'topic-full'

/** What the rooms tell a wider hub (other relay instances): topics that gained or lost their last local subscriber, local publishes. */
export interface TopicHooks {
  opened(topic: string): void
  closed(topic: string): void
  published(frame: PublishFrame): void
}

export interface Rooms<Member extends RoomMember> {
  /**
   * Applies one valid frame from `member`. A subscribe that would take the member past its
   * topic cap, or a topic past its subscriber cap, changes nothing and says which.
   */
  apply(member: Member, frame: SignalingFrame): ApplyResult
  /** Unsubscribes `member` from everything (its socket closed). */
  leave(member: Member): void
  /** A publish that came from elsewhere (another relay instance): to this hub's subscribers of its topic. */
  deliver(frame: PublishFrame): void
  /** Topics with at least one subscriber. */
  readonly roomCount: number
  /** Publish frames that reached at least one subscriber. */
  readonly publishedFrames: number
}

const pongText = JSON.stringify({ type: 'pong' })

/**
 * Creates the rooms. As in y-webrtc's bin/server.js, a publish goes to every subscriber of its
 * topic, the sender included, with `clients` set to their number (of this hub); a ping is
 * answered `pong`. `hooks` hear what other relay instances need to know.
 */
export function createRooms<Member extends RoomMember>(
  limits: { maxTopicsPerMember: number; maxSubscribersPerTopic: number },
  send: (member: Member, text: string) => void,
  hooks?: TopicHooks,
): Rooms<Member> {
  const { maxTopicsPerMember, maxSubscribersPerTopic } = limits
  const registry = createTopicRegistry<Member>()
  let publishedFrames = 0

  const remove = (topic: string, member: Member): void => {
    registry.remove(topic, member)
    if (registry.subscribers(topic) === undefined) hooks?.closed(topic)
  }

  const fanOut = (frame: PublishFrame): void => {
    const receivers = registry.subscribers(frame.topic)
    if (receivers === undefined) return
    publishedFrames += 1
    const text = encodePublished(frame, receivers.size)
    for (const receiver of receivers) send(receiver, text)
  }

  const apply = (member: Member, frame: SignalingFrame): ApplyResult => {
    switch (frame.type) {
      case 'subscribe': {
        const fresh = new Set(frame.topics.filter((topic) => !member.topics.has(topic)))
        if (member.topics.size + fresh.size > maxTopicsPerMember) return 'too-many-topics'
        for (const topic of fresh) if ((registry.subscribers(topic)?.size ?? 0) >= maxSubscribersPerTopic) return 'topic-full'
        for (const topic of fresh) {
          const opened = registry.subscribers(topic) === undefined
          member.topics.add(topic)
          registry.add(topic, member)
          if (opened) hooks?.opened(topic)
        }
        return 'ok'
      }
      case 'unsubscribe':
        for (const topic of frame.topics) {
          if (member.topics.delete(topic)) remove(topic, member)
        }
        return 'ok'
      case 'publish':
        fanOut(frame)
        hooks?.published(frame)
        return 'ok'
      case 'ping':
        send(member, pongText)
        return 'ok'
    }
  }

  return {
    apply,
    leave(member) {
      for (const topic of member.topics) remove(topic, member)
      member.topics.clear()
    },
    deliver: fanOut,
    get roomCount() {
      return registry.size
    },
    get publishedFrames() {
      return publishedFrames
    },
  }
}
