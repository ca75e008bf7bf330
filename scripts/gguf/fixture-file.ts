// Writes a fixture model only when it is missing or stale. A sidecar `<file>.json` records a
// fingerprint of the spec and of this folder's sources, and the file's SHA-256; a file whose
// fingerprint and content hash both match is left alone.
import { createHash } from 'node:crypto'
import { closeSync, existsSync, openSync, readFileSync, readdirSync, renameSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildBert } from './bert'
import { buildQwen3, parameterCount } from './qwen3'
import type { FixtureSpec } from './specs'
import { encodeGguf } from './writer'

export interface FixtureResult {
  path: string
  status: 'written' | 'up to date'
  sha256: string
}

interface Sidecar {
  fingerprint: string
  sha256: string
  bytes: number
  parameters: number
}

const sourceDirectory = fileURLToPath(new URL('.', import.meta.url))

function sha256(chunks: Iterable<Uint8Array | string>): string {
  const hash = createHash('sha256')
  for (const chunk of chunks) hash.update(chunk)
  return hash.digest('hex')
}

/** Changes whenever the spec or any generator source changes. */
export function fingerprint(spec: FixtureSpec): string {
  const sources = readdirSync(sourceDirectory)
    .filter((name) => name.endsWith('.ts'))
    .sort()
  return sha256([JSON.stringify(spec), ...sources.flatMap((name) => [name, readFileSync(join(sourceDirectory, name))])])
}

function readSidecar(path: string): Sidecar | undefined {
  if (!existsSync(path)) return undefined
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Sidecar
  } catch {
    return undefined
  }
}

/** The GGUF bytes of a fixture, in chunks (see writer.ts), with its parameter count. */
export function encodeFixture(spec: FixtureSpec): { chunks: Uint8Array[]; parameters: number } {
  const model = spec.kind === 'bert' ? buildBert(spec.model) : buildQwen3(spec.model)
  return { chunks: encodeGguf(model), parameters: parameterCount(model) }
}

export function ensureFixture(directory: string, spec: FixtureSpec): FixtureResult {
  const path = join(directory, spec.fileName)
  const sidecarPath = `${path}.json`
  const expected = fingerprint(spec)
  const sidecar = readSidecar(sidecarPath)
  if (sidecar?.fingerprint === expected && existsSync(path) && sha256([readFileSync(path)]) === sidecar.sha256) {
    return { path, status: 'up to date', sha256: sidecar.sha256 }
  }

  const { chunks, parameters } = encodeFixture(spec)
  const temporaryPath = `${path}.${process.pid}.tmp`
  const fd = openSync(temporaryPath, 'w')
  try {
    for (const chunk of chunks) writeSync(fd, chunk)
  } finally {
    closeSync(fd)
  }
  renameSync(temporaryPath, path)
  const written: Sidecar = {
    fingerprint: expected,
    sha256: sha256(chunks),
    bytes: chunks.reduce((sum, chunk) => sum + chunk.length, 0),
    parameters,
  }
  writeFileSync(sidecarPath, `${JSON.stringify(written, null, 2)}\n`)
  return { path, status: 'written', sha256: written.sha256 }
}
