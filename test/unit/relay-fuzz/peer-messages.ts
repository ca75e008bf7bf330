// Random and mutated y-webrtc data-channel messages, as a member sends them straight over its
// WebRTC link: y-protocols sync steps and updates truncated or garbled, awareness updates with
// bad JSON or absurd clocks, unknown message types, raw garbage.
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import type { Random } from './random'

// y-webrtc's message types (src/y-webrtc.js) and y-protocols' sync steps.
const messageSync = 0
const messageAwareness = 1
const messageQueryAwareness = 3
const messageBcPeerId = 4
const syncStep1 = 0
const syncStep2 = 1
const syncUpdate = 2

/** A real update of a doc with a few random edits, to mutate. */
function realUpdate(random: Random): Uint8Array {
  const doc = new Y.Doc()
  doc.transact(() => {
    const map = doc.getMap(random.pick(['tasks', 'memory', 'nets', 'x']))
    for (let i = 0; i < 1 + random.int(6); i += 1) {
      const roll = random.int(4)
      if (roll === 0) map.set(random.text(6), random.json(2) ?? null)
      else if (roll === 1) map.set(random.text(4), new Y.Map())
      else if (roll === 2) doc.getText('t').insert(0, random.text(1 + random.int(40)))
      else doc.getArray('a').push([random.json(1) ?? null])
    }
  })
  const update = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return update
}

function mutate(random: Random, bytes: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(bytes)
  switch (random.int(4)) {
    case 0:
      return copy.slice(0, random.int(copy.length))
    case 1:
      for (let i = 0; i < 1 + random.int(4); i += 1) copy[random.int(copy.length)] = random.int(256)
      return copy
    case 2: {
      const at = random.int(copy.length)
      return Uint8Array.from([...copy.slice(0, at), ...random.bytes(1 + random.int(16)), ...copy.slice(at)])
    }
    default:
      return Uint8Array.from([...copy, ...random.bytes(1 + random.int(16))])
  }
}

function message(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder()
  write(encoder)
  return encoding.toUint8Array(encoder)
}

/** An awareness update (varUint count, then clientID, clock, JSON state each) with garbage. */
function awarenessUpdate(random: Random): Uint8Array {
  return message((encoder) => {
    const count = random.pick([1, 1, 2, 0, 50])
    encoding.writeVarUint(encoder, count)
    for (let i = 0; i < Math.min(count, 3); i += 1) {
      encoding.writeVarUint(encoder, random.pick([random.int(2 ** 32), 0, 2 ** 53 - 1]))
      encoding.writeVarUint(encoder, random.pick([0, 1, random.int(1000), 2 ** 53 - 1]))
      encoding.writeVarString(
        encoder,
        random.pick([
          '{"nodeId":',
          'null',
          '',
          '[]',
          '"x"',
          '{"nodeId":"a","publicKey":5,"engine":{"kind":"webgpu","state":"ready"}}',
          JSON.stringify({ proto: 1, nodeId: 'f'.repeat(20), status: 'online', engine: { kind: 'wasm', state: 'ready' }, queue: -1 }),
          JSON.stringify(random.json(3)),
          random.text(random.int(100)),
        ]),
      )
    }
  })
}

/** One data-channel message for the gateway. */
export function randomPeerMessage(random: Random): { kind: string; bytes: Uint8Array } {
  switch (random.int(11)) {
    case 0:
      return { kind: 'garbage', bytes: random.bytes(random.int(600)) }
    case 1:
      return { kind: 'empty', bytes: new Uint8Array(0) }
    case 2:
      return {
        kind: 'sync-step1',
        bytes: message((encoder) => {
          encoding.writeVarUint(encoder, messageSync)
          encoding.writeVarUint(encoder, syncStep1)
          encoding.writeVarUint8Array(encoder, random.chance(0.5) ? random.bytes(random.int(40)) : mutate(random, Y.encodeStateVector(new Y.Doc())))
        }),
      }
    case 3:
    case 4:
      return {
        kind: 'sync-update',
        bytes: message((encoder) => {
          encoding.writeVarUint(encoder, messageSync)
          encoding.writeVarUint(encoder, random.pick([syncStep2, syncUpdate]))
          encoding.writeVarUint8Array(encoder, mutate(random, realUpdate(random)))
        }),
      }
    case 5:
      return {
        kind: 'sync-truncated',
        bytes: mutate(
          random,
          message((encoder) => (encoding.writeVarUint(encoder, messageSync), encoding.writeVarUint(encoder, syncUpdate), encoding.writeVarUint8Array(encoder, realUpdate(random)))),
        ),
      }
    case 6:
      return {
        kind: 'sync-bad-step',
        bytes: message(
          (encoder) => (
            encoding.writeVarUint(encoder, messageSync),
            encoding.writeVarUint(encoder, random.pick([3, 7, 255, 2 ** 31])),
            encoding.writeUint8Array(encoder, random.bytes(random.int(30)))
          ),
        ),
      }
    case 7:
      return {
        kind: 'awareness',
        bytes: message(
          (encoder) => (encoding.writeVarUint(encoder, messageAwareness), encoding.writeVarUint8Array(encoder, random.chance(0.8) ? awarenessUpdate(random) : random.bytes(random.int(60)))),
        ),
      }
    case 8:
      return {
        kind: 'awareness-truncated',
        bytes: mutate(
          random,
          message((encoder) => (encoding.writeVarUint(encoder, messageAwareness), encoding.writeVarUint8Array(encoder, awarenessUpdate(random)))),
        ),
      }
    case 9:
      return {
        kind: 'other-type',
        bytes: message((encoder) => {
          const type = random.pick([messageQueryAwareness, messageBcPeerId, 2, 5, 99, 2 ** 40])
          encoding.writeVarUint(encoder, type)
          if (type === messageBcPeerId) {
            encoding.writeUint8(encoder, random.int(3))
            if (random.chance(0.7)) encoding.writeVarString(encoder, random.text(random.int(40)))
          } else {
            encoding.writeUint8Array(encoder, random.bytes(random.int(30)))
          }
        }),
      }
    default:
      return { kind: 'varuint-overflow', bytes: Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, ...random.bytes(random.int(10))]) }
  }
}
