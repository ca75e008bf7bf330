// The backend contract on the swarm gateway backend, in an in-process room whose executor is a
// real MarketNode on the tiny Qwen3 GGUF (backend/swarm-room.ts).
import { runBackendContract } from '../contracts/backend'
import { openSwarmRoom } from './backend/swarm-room'
import { tinyModelId, tinyModelPath } from './backend/tiny-model'

runBackendContract('swarm (the gateway in an in-process room; the executor a MarketNode on the tiny GGUF)', {
  open: () => openSwarmRoom(tinyModelPath, tinyModelId),
})
