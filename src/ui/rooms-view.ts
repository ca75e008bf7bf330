import type { StoredRoom } from '../memory/local-db'
import { maxRoomNameLength } from '../memory/rooms'
import { plural } from '../shared/text'
import { h } from './dom'
import type { Shell } from './shell'

export interface RoomListActions {
  /** The open room's id (roomIdOf): it is marked, and cannot be forgotten while open. */
  currentId: string
  /** Every room this profile has been in, the one open last first (the open room's counts written first). */
  list(): Promise<StoredRoom[]>
  rename(id: string, name: string): Promise<void>
  /** Removes it from the list and deletes its local copy. */
  forget(room: StoredRoom): Promise<void>
  /** The page that opens a room (`null`: a new one). */
  hrefOf(room: StoredRoom | null): string
}

/** "just now", "1 minute ago", "3 hours ago", "2 days ago", then the date. */
export function lastOpenText(atMs: number, nowMs: number): string {
  const minutes = Math.floor(Math.max(0, nowMs - atMs) / 60_000)
  if (minutes < 1) return 'just now'
  if (minutes < 60) return `${plural(minutes, 'minute', 'minutes')} ago`
  const hours = Math.floor(minutes / 60)
  if (hours < 24) return `${plural(hours, 'hour', 'hours')} ago`
  const days = Math.floor(hours / 24)
  if (days < 30) return `${plural(days, 'day', 'days')} ago`
  return new Date(atMs).toLocaleDateString()
}

/**
 * "Rooms" in the top bar: the rooms this profile has been in, each with when it was open last,
 * peers seen and memory entries; rename (a local name), forget, open one, or make a new one.
 */
export function mountRoomList(shell: Shell, actions: RoomListActions, report: (error: unknown) => void): void {
  const list = h('ul', { class: 'room-list', 'data-testid': 'room-list' })
  const fresh = h('a', { class: 'button', href: actions.hrefOf(null), 'data-testid': 'room-new' }, 'New room')
  const panel = h(
    'section',
    { class: 'panel rooms', id: 'room-list-panel', 'data-testid': 'rooms-view', 'aria-label': 'your rooms', hidden: true },
    h('div', { class: 'row' }, h('h2', {}, 'Your rooms'), h('span', { class: 'spacer' }), fresh),
    list,
  )
  const toggle = h('button', { type: 'button', 'data-testid': 'rooms-toggle', 'aria-expanded': 'false', 'aria-controls': 'room-list-panel' }, 'Rooms')
  shell.header.append(toggle)
  shell.notices.after(panel)

  const render = async (): Promise<void> => {
    const rooms = await actions.list()
    const now = Date.now()
    list.replaceChildren(...rooms.map((room) => roomRow(room, now)))
    if (rooms.length === 0) list.append(h('li', { class: 'muted' }, 'No rooms yet.'))
  }
  const refresh = (): void => void render().catch(report)
  toggle.addEventListener('click', () => {
    panel.hidden = !panel.hidden
    toggle.setAttribute('aria-expanded', String(!panel.hidden))
    if (!panel.hidden) refresh()
  })

  const roomRow = (room: StoredRoom, now: number): HTMLLIElement => {
    const current = room.id === actions.currentId
    const title = room.name || room.room
    const details = h(
      'span',
      { class: 'muted', 'data-testid': 'room-row-details' },
      current ? 'open now' : `open ${lastOpenText(room.lastOpenAt, now)}`,
      ` · ${plural(room.peersSeen, 'peer', 'peers')} seen · ${plural(room.memoryCount, 'memory', 'memories')}`,
      room.key === null ? ' · open room' : '',
    )
    const row = h('li', { class: `room-row${current ? ' current' : ''}`, 'data-testid': 'room-row', 'data-room': room.room, 'data-room-id': room.id })
    const name = current ? h('b', { 'data-testid': 'room-row-name' }, title) : h('a', { href: actions.hrefOf(room), 'data-testid': 'room-row-name' }, title)
    const shown = (): void => {
      row.replaceChildren(
        h('div', {}, name, room.name ? h('span', { class: 'muted' }, ` (${room.room})`) : ''),
        h('div', { class: 'row' }, details, h('span', { class: 'spacer' }), renameButton, current ? '' : forgetButton),
      )
    }
    const renameButton = h('button', { type: 'button', class: 'link', 'data-testid': 'room-rename' }, 'Rename')
    renameButton.addEventListener('click', () => {
      const input = h('input', { value: room.name, placeholder: room.room, maxlength: maxRoomNameLength, 'aria-label': `name for room ${room.room}`, 'data-testid': 'room-rename-input' })
      const form = h(
        'form',
        { class: 'row' },
        input,
        h('button', { type: 'submit', 'data-testid': 'room-rename-save' }, 'Save'),
        h('button', { type: 'button', class: 'link', onclick: shown }, 'Cancel'),
      )
      form.addEventListener('submit', (event) => {
        event.preventDefault()
        actions.rename(room.id, input.value).then(refresh, report)
      })
      row.replaceChildren(form)
      input.focus()
    })
    const forgetButton = h('button', { type: 'button', class: 'link danger', 'data-testid': 'room-forget' }, 'Forget')
    forgetButton.addEventListener('click', () => {
      const yes = h('button', { type: 'button', class: 'danger', 'data-testid': 'room-forget-confirm' }, 'Forget it')
      yes.addEventListener('click', () => {
        yes.disabled = true
        actions.forget(room).then(refresh, report)
      })
      row.replaceChildren(
        h('div', { role: 'alert' }, `Forget "${title}"? It leaves this list and its copy on this device is deleted; peers keep theirs, and its invite link still opens it.`),
        h('div', { class: 'row' }, yes, h('button', { type: 'button', class: 'link', onclick: shown }, 'Keep it')),
      )
      yes.focus()
    })
    shown()
    return row
  }
}
