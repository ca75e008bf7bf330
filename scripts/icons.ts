// Renders the app icon (public/icons/icon.svg, drawn again here in code) as the PNGs the
// web manifest needs. Run once with `node --import tsx scripts/icons.ts`; the output is committed.
import { writeFileSync } from 'node:fs'
import { deflateSync } from 'node:zlib'

type Rgb = [number, number, number]
const background: Rgb = [0x14, 0x16, 0x1c]
const link: Rgb = [0x5a, 0xd1, 0xa8]
const dot: Rgb = [0xf0, 0xc0, 0x5a]
const points: [number, number, number][] = [
  [32, 14, 6],
  [14, 46, 6],
  [50, 46, 6],
  [32, 34, 5],
]
const edges: [number, number][] = [
  [0, 1],
  [0, 2],
  [1, 2],
  [0, 3],
  [1, 3],
  [2, 3],
]

function distanceToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const t = Math.max(0, Math.min(1, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)))
  return Math.hypot(px - (ax + t * (bx - ax)), py - (ay + t * (by - ay)))
}

function colorAt(x: number, y: number): Rgb {
  for (const [cx, cy, r] of points) if (Math.hypot(x - cx, y - cy) <= r) return dot
  for (const [a, b] of edges) {
    const [ax, ay] = points[a] ?? [0, 0]
    const [bx, by] = points[b] ?? [0, 0]
    if (distanceToSegment(x, y, ax, ay, bx, by) <= 1.5) return link
  }
  return background
}

function crc32(bytes: Uint8Array): number {
  let crc = ~0
  for (const byte of bytes) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1))
  }
  return ~crc >>> 0
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const out = Buffer.alloc(body.length + 8)
  out.writeUInt32BE(data.length, 0)
  body.copy(out, 4)
  out.writeUInt32BE(crc32(body), body.length + 4)
  return out
}

function png(size: number): Buffer {
  const raw = Buffer.alloc(size * (size * 3 + 1))
  for (let y = 0; y < size; y++) {
    raw[y * (size * 3 + 1)] = 0
    for (let x = 0; x < size; x++) {
      const [r, g, b] = colorAt(((x + 0.5) * 64) / size, ((y + 0.5) * 64) / size)
      raw.set([r, g, b], y * (size * 3 + 1) + 1 + x * 3)
    }
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header.set([8, 2, 0, 0, 0], 8)
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array())])
}

for (const size of [192, 512]) writeFileSync(`public/icons/icon-${size}.png`, png(size))
