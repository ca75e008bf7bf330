import type { SignalingState } from '../swarm/room/signaling-client'
import { plural } from '../shared/text'
import { h } from './dom'

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}

/**
 * The line the swarm view shows of the signaling connection: where it is connected, or, while
 * none is up, that it is offline, how many WebRTC links still sync, and when it tries again.
 */
export function signalingText(state: SignalingState, links: number, nowMs: number): string {
  if (state.status === 'connected') return `signaling via ${hostOf(state.url)}`
  if (state.failures === 0 && state.retryAtMs === null) return `signaling: connecting to ${hostOf(state.url)}…`
  const offline = `signaling offline, ${plural(links, 'peer', 'peers')} still connected`
  if (state.retryAtMs === null) return `${offline}, connecting to ${hostOf(state.url)}…`
  return `${offline}, reconnecting in ${plural(Math.max(1, Math.ceil((state.retryAtMs - nowMs) / 1000)), 'second', 'seconds')}`
}

/** The line as an element; `data-status` says 'connected' or 'offline'. */
export function signalingLine(state: SignalingState, links: number, nowMs: number): HTMLElement {
  const offline = state.status === 'offline'
  return h('div', { class: `signaling${offline ? ' warn' : ' peer-detail'}`, 'data-testid': 'signaling', 'data-status': state.status, title: state.urls.join(' ') }, signalingText(state, links, nowMs))
}
