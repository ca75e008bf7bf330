import { shareLink } from './room-url'

/** What a share sheet handed the app (the manifest's share_target): each part may be empty. */
export interface SharedItem {
  title: string
  text: string
  url: string
}

/** Where the app was started from, and the room URL it shows once landed. */
export interface Launch {
  /** The URL to show (replaceState to it when it differs): the room to open, with its key. */
  href: string
  /** Set when started through the share target (`/share?title=&text=&url=`). */
  shared: SharedItem | null
  /** Started through the file handler (`/open-file`): the files come through window.launchQueue. */
  openFile: boolean
}

/** The manifest's share_target action and file_handlers action (vite.config.ts). */
export const sharePath = '/share'
export const openFilePath = '/open-file'
const shareParams = ['title', 'text', 'url'] as const

/**
 * Where a start lands. An invite link (`?room=`) opens its room, exactly as given. `?new`
 * makes a new room. Anything else (`/`, the installed app's start, `?last`, a share, a file)
 * opens `last`, the room this profile was in last; with none, a new room as before. The
 * page's other options (engine=, peerTimeoutMs=, …) are kept.
 */
export function launchOf(href: string, last: { room: string; key: string | null } | null): Launch {
  const url = new URL(href)
  const shared = url.pathname === sharePath ? readShared(url.searchParams) : null
  const openFile = url.pathname === openFilePath
  if (shared) for (const name of shareParams) url.searchParams.delete(name)
  if (shared || openFile) url.pathname = '/'
  const fresh = url.searchParams.has('new')
  url.searchParams.delete('new')
  url.searchParams.delete('last')
  if (!url.searchParams.has('room') && !fresh && last) {
    url.searchParams.set('room', last.room)
    url.hash = new URL(shareLink(url.origin, last)).hash
  }
  return { href: url.toString(), shared, openFile }
}

function readShared(params: URLSearchParams): SharedItem {
  return { title: params.get('title') ?? '', text: params.get('text') ?? '', url: params.get('url') ?? '' }
}

/**
 * The shared item as one text: share sheets put the link in `text`, in `url`, or in both, and
 * the page's title in `title`. Title, text and link, each on its own line, each only when the
 * text does not hold it already.
 */
export function sharedText(item: SharedItem): string {
  const text = item.text.trim()
  const extra = (part: string): string => (text.includes(part.trim()) ? '' : part.trim())
  return [extra(item.title), text, extra(item.url)].filter((part) => part !== '').join('\n')
}
