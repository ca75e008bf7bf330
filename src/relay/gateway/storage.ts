// What the gateway keeps on disk: the data directory (made when the identity or the replica
// needs it), its lock, and one RoomReplica per room under `<dataDir>/rooms`.
import path from 'node:path'
import type { Logger } from '../log'
import { ensureDataDir, lockDataDir } from '../replica/data-dir'
import { RoomReplica } from '../replica/room-replica'
import type { SwarmConfig } from './config'

export interface GatewayStorage {
  /** The room's replica, read from disk; null without RELAY_DATA_DIR. */
  replicaOf(roomId: string, room: string): Promise<RoomReplica | null>
  /** Saves and closes every replica, then releases the data directory. */
  close(): Promise<void>
}

export async function openGatewayStorage(config: Pick<SwarmConfig, 'dataDir' | 'keyFile' | 'replica'>, log: Logger): Promise<GatewayStorage> {
  const { dataDir, replica } = config
  const keyInDataDir = dataDir !== null && config.keyFile !== null && path.dirname(config.keyFile) === dataDir
  if (dataDir !== null && (keyInDataDir || replica !== null))
    await ensureDataDir(dataDir, replica === null ? 'the data directory (for the relay key; set RELAY_DATA_DIR or RELAY_KEY_FILE)' : 'RELAY_DATA_DIR')
  if (dataDir === null || replica === null) return { replicaOf: () => Promise.resolve(null), close: () => Promise.resolve() }
  const roomsDir = path.join(dataDir, 'rooms')
  await ensureDataDir(roomsDir, 'RELAY_DATA_DIR/rooms')
  const unlock = await lockDataDir(dataDir)
  const opened: RoomReplica[] = []
  return {
    async replicaOf(roomId, room) {
      const roomReplica = await RoomReplica.open(roomsDir, roomId, room, { maxBytes: replica.maxBytes }, log)
      opened.push(roomReplica)
      return roomReplica
    },
    async close() {
      await Promise.all(opened.splice(0).map((roomReplica) => roomReplica.close()))
      await unlock()
    },
  }
}
