// The semantics of y-webrtc's signaling protocol over abstract members, without sockets.
import { encodePublished, type SignalingFrame } from '../shared/signaling'
import { createTopicRegistry } from './topics'

export interface RoomMember {
  /** The topics this member subscribed to; owned by the rooms, read by others. */
  readonly topics: Set<string>
}

export type ApplyResult = 'ok' | 'too-many-topics' | 'topic-full'

export interface Rooms<Member extends RoomMember> {
  /**
   * Applies one valid frame from `member`. A subscribe that would take the member past its
   * topic cap, or a topic past its subscriber cap, changes nothing and says which.
   */
  apply(member: Member, frame: SignalingFrame): ApplyResult
  /** Unsubscribes `member` from everything (its socket closed). */
  leave(member: Member): void
  /** Topics with at least one subscriber. */
  readonly roomCount: number
  /** Publish frames that reached at least one subscriber. */
  readonly publishedFrames: number
}

const pongText = JSON.stringify({ type: 'pong' })

/**
 * Creates the rooms. As in y-webrtc's bin/server.js, a publish goes to every subscriber of its
 * topic, the sender included, with `clients` set to their number; a ping is answered `pong`.
 */
export function createRooms<Member extends RoomMember>(limits: { maxTopicsPerMember: number; maxSubscribersPerTopic: number }, send: (member: Member, text: string) => void): Rooms<Member> {
  const { maxTopicsPerMember, maxSubscribersPerTopic } = limits
  const registry = createTopicRegistry<Member>()
  let publishedFrames = 0

  const apply = (member: Member, frame: SignalingFrame): ApplyResult => {
    switch (frame.type) {
      case 'subscribe': {
        const fresh = new Set(frame.topics.filter((topic) => !member.topics.has(topic)))
        if (member.topics.size + fresh.size > maxTopicsPerMember) return 'too-many-topics'
        for (const topic of fresh) if ((registry.subscribers(topic)?.size ?? 0) >= maxSubscribersPerTopic) return 'topic-full'
        for (const topic of fresh) {
          member.topics.add(topic)
          registry.add(topic, member)
        }
        return 'ok'
      }
      case 'unsubscribe':
        for (const topic of frame.topics) {
          if (member.topics.delete(topic)) registry.remove(topic, member)
        }
        return 'ok'
      case 'publish': {
        const receivers = registry.subscribers(frame.topic)
        if (receivers === undefined) return 'ok'
        publishedFrames += 1
        const text = encodePublished(frame, receivers.size)
        for (const receiver of receivers) send(receiver, text)
        return 'ok'
      }
      case 'ping':
        send(member, pongText)
        return 'ok'
    }
  }

  return {
    apply,
    leave(member) {
      for (const topic of member.topics) registry.remove(topic, member)
      member.topics.clear()
    },
    get roomCount() {
      return registry.size
    },
    get publishedFrames() {
      return publishedFrames
    },
  }
}
