// Asks the TURN servers for a relay candidate once, before any peer appears, so that a page
// with `ice=relay` learns at start that (and why) it cannot link: a peer connection with a
// data channel, relay candidates only, and whatever icecandidateerror the servers answer.
import { iceErrorOf, type IceError } from './link-stats'

export type TurnProbe = { outcome: 'relayed' } | { outcome: 'failed'; errors: IceError[] }

const defaultTimeoutMs = 5_000

/** Resolves when a relay candidate came, or when gathering ended or timed out without one; never rejects. */
export async function probeTurn(iceServers: RTCIceServer[], timeoutMs = defaultTimeoutMs): Promise<TurnProbe> {
  let pc: RTCPeerConnection
  try {
    pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: 'relay' })
  } catch (error) {
    return { outcome: 'failed', errors: [{ url: '', errorCode: 0, errorText: error instanceof Error ? error.message : String(error) }] }
  }
  const errors: IceError[] = []
  try {
    return await new Promise<TurnProbe>((resolve) => {
      const timer = setTimeout(() => resolve({ outcome: 'failed', errors }), timeoutMs)
      const finish = (probe: TurnProbe): void => {
        clearTimeout(timer)
        resolve(probe)
      }
      pc.addEventListener('icecandidateerror', (event) => errors.push(iceErrorOf(event)))
      pc.addEventListener('icecandidate', ({ candidate }) => {
        if (candidate?.type === 'relay') finish({ outcome: 'relayed' })
        else if (candidate === null) finish({ outcome: 'failed', errors })
      })
      pc.createDataChannel('turn-probe')
      pc.createOffer()
        .then((offer) => pc.setLocalDescription(offer))
        .catch((error: unknown) => finish({ outcome: 'failed', errors: [...errors, { url: '', errorCode: 0, errorText: error instanceof Error ? error.message : String(error) }] }))
    })
  } finally {
    pc.close()
  }
}
