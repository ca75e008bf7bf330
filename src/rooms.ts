import type { LocalDb, StoredRoom } from './memory/local-db'
import { RoomRegistry, RoomVisit, roomRecordsIn } from './memory/rooms'
import { deleteRoomDoc } from './swarm/room/indexeddb-storage'
import { launchOf, sharedText, type Launch } from './swarm/room/launch'
import type { SwarmNode } from './swarm/node'
import { consumeLaunchedFiles } from './ui/file-launch'
import { mountRoomList } from './ui/rooms-view'
import { askInChat, openShareDialog } from './ui/share-view'
import type { Shell } from './ui/shell'
import type { SummarizeText } from './ui/summarize-view'

export interface Landing {
  rooms: RoomRegistry
  launch: Launch
}

/**
 * Before the room URL is read: `/` (the installed app's start, a share, an opened file) lands
 * in the room this profile was in last, shown in the address bar with its key.
 */
export async function landInLastRoom(db: LocalDb): Promise<Landing> {
  const rooms = new RoomRegistry(roomRecordsIn(db))
  const launch = launchOf(location.href, await rooms.last())
  if (launch.href !== location.href) history.replaceState(null, '', launch.href)
  return { rooms, launch }
}

export interface RoomsDeps {
  shell: Shell
  node: SwarmNode
  summarize: SummarizeText
  report: (error: unknown) => void
}

/**
 * Once the node is up: the room is recorded (and its peers and memory counted while open),
 * the room list is mounted, and a shared item or opened file is offered to the room.
 */
export async function startRooms({ rooms, launch }: Landing, { shell, node, summarize, report }: RoomsDeps): Promise<void> {
  await rooms.open(node.config.room, node.config.key)
  const visit = new RoomVisit(rooms, node.roomId, { onError: report })
  const seePeers = (): void => visit.peers(node.peers().flatMap((peer) => (peer.compatible ? [peer.nodeId] : [])))
  seePeers()
  node.on('peers', seePeers)
  visit.memory(node.memory.items().length)
  node.on('memory', (items) => visit.memory(items.length))
  window.addEventListener('pagehide', () => void visit.flush())

  mountRoomList(
    shell,
    {
      currentId: node.roomId,
      list: async () => {
        await visit.flush()
        return rooms.list()
      },
      rename: (id, name) => rooms.rename(id, name),
      forget: async (room) => {
        await rooms.forget(room.id)
        // Waits while another tab has that room open: the list need not.
        deleteRoomDoc(room.room, room.key).catch(report)
      },
      hrefOf: (room) => roomHref(location.href, room),
    },
    report,
  )

  const actions = {
    save: async (text: string) => {
      await node.memory.add({ text, tags: ['shared'] })
      shell.notify("Saved to the room's memory.")
    },
    ask: (text: string) => askInChat(shell.chat, text),
    summarize,
  }
  if (launch.shared) openShareDialog(document.body, sharedText(launch.shared), actions, report)
  if (launch.openFile) {
    const listening = consumeLaunchedFiles(
      (file) => {
        shell.notify(`Summarizing ${file.name} with the swarm…`)
        summarize(file.text)
      },
      (problem) => shell.notify(problem, 'error'),
    )
    if (!listening) shell.notify('This browser did not hand over a file: open .txt and .md files with the installed app (Chrome or Edge).', 'warn')
  }
}

/** The page that opens `room` (null: a new room), keeping this page's options (engine=, …). */
function roomHref(href: string, room: StoredRoom | null): string {
  const url = new URL(href)
  url.hash = ''
  if (room === null) {
    url.searchParams.delete('room')
    url.searchParams.set('new', '')
  } else {
    url.searchParams.set('room', room.room)
    if (room.key !== null) url.hash = `key=${encodeURIComponent(room.key)}`
  }
  return url.toString()
}
