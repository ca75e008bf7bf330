// What the gateway keeps on disk: the data directory (made when the identity or the replica
// needs it), its lock, and one RoomReplica per room under `<dataDir>/rooms`.
import path from 'node:path'
import type { Logger } from '../log'
import { ensureDataDir, lockDataDir } from '../replica/data-dir'
import { RoomReplica } from '../replica/room-replica'
import type { SwarmConfig } from './config'

export interface GatewayStorage {
  /** The identity's key file to use: config's, or null when the default data directory cannot be made (an identity in memory). */
  keyFile: string | null
  /** The room's replica, read from disk; null without RELAY_DATA_DIR. */
  replicaOf(roomId: string, room: string): Promise<RoomReplica | null>
  /** Saves and closes every replica, then releases the data directory. */
  close(): Promise<void>
}

export async function openGatewayStorage(config: Pick<SwarmConfig, 'dataDir' | 'keyFile' | 'replica'>, log: Logger): Promise<GatewayStorage> {
  const { dataDir, replica } = config
  const keyInDataDir = dataDir !== null && config.keyFile !== null && path.dirname(config.keyFile) === dataDir
  if (dataDir === null || replica === null) {
    let keyFile = config.keyFile
    if (dataDir !== null && keyInDataDir) {
      // The default directory, for the key only: a relay whose home is read-only still runs, with a fresh identity.
      try {
        await ensureDataDir(dataDir, 'the default data directory')
      } catch (error) {
        log.warn('swarm gateway: no data directory for its identity; a fresh one in memory (set RELAY_DATA_DIR or RELAY_KEY_FILE)', { error })
        keyFile = null
      }
    }
    return { keyFile, replicaOf: () => Promise.resolve(null), close: () => Promise.resolve() }
  }
  await ensureDataDir(dataDir, 'RELAY_DATA_DIR')
  const roomsDir = path.join(dataDir, 'rooms')
  await ensureDataDir(roomsDir, 'RELAY_DATA_DIR/rooms')
  const unlock = await lockDataDir(dataDir)
  const opened: RoomReplica[] = []
  return {
    keyFile: config.keyFile,
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
