import { sha256, toHex, utf8 } from './encoding'

/**
 * The room's identity: a digest of its name and key. It goes into every signed payload of the
 * shared doc (memory, market, nets, presence), so a value signed in one room is refused in
 * every other, including a room of the same name with another key, or an open one.
 */
export async function roomIdOf(room: string, key: string | null): Promise<string> {
  return toHex(await sha256(utf8(`edgeswarm/room/v1\u0000${room}\u0000${key ?? ''}\u0000${key === null ? 'open' : 'keyed'}`))).slice(0, 32)
}
